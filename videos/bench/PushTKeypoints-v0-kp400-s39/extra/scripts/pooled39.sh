#!/bin/bash
# stop 39: pooled, seed-paired success on the stop-36 teacher's nine seed sets (stop 34's pooled.py);
# output: ../pooled39.out. Flow-100 from stops 36/37; the two folds souped here from stop 38; seeds 2 and 3 of
# that fold: EXTRA="level=0.1 finish_steps=2 seed=S" …-s38/extra/scripts/fold38.sh runs/pusht_kp400/student1_rho 100 runs/pusht_kp400/student1_rho_fold2at0.1_ex100sS
cd "$(dirname "$0")/../.."  # videos/bench/PushTKeypoints-v0-kp400-s39
E=extra; Q=../PushTKeypoints-v0-kp400-s38/extra; P=../PushTKeypoints-v0-kp400-s37/extra; O=../PushTKeypoints-v0-kp400-s36/extra
python3 ../PushTKeypoints-v0-kp400-s34/extra/probes/pooled.py ${SETS:-100000,300000,500000,700000,900000,1100000,1300000,1500000,1700000} \
  "$O/ref_{seed}.json+$P/ref_{seed}.json" \
  "fold toward two teacher calls from 0.1 (stop 38)=$Q/f2_{seed}.json@student1-t0.8" \
  "the same, seed 1 (stop 38)=$Q/f2s1_{seed}.json@student1-t0.8" \
  "soup: mean weights of those two=$E/soupf2_{seed}.json@student1-t0.8" \
  "soup: those two and the two executed-x100 folds toward one call=$E/soup4_{seed}.json@student1-t0.8" \
  "the same recipe, seed 2 (stop 39)=$E/f2s2_{seed}.json@student1-t0.8" \
  "the same recipe, seed 3 (stop 39)=$E/f2s3_{seed}.json@student1-t0.8" \
  "the two-call fold, seed 0, sampled at T 0.7=$E/f2T_{seed}.json@student1-t0.7" \
  "the two-call fold, seed 0, sampled at T 0.9=$E/f2T_{seed}.json@student1-t0.9" \
  "the two-call fold, seed 1, sampled at T 0.7=$E/f2s1T_{seed}.json@student1-t0.7" \
  "the two-call fold, seed 1, sampled at T 0.9=$E/f2s1T_{seed}.json@student1-t0.9" \
  "the two-call fold, seed 2, sampled at T 0.7=$E/f2s2T_{seed}.json@student1-t0.7" \
  "the two-call fold, seed 2, sampled at T 0.9=$E/f2s2T_{seed}.json@student1-t0.9" \
  "the two-call fold, seed 3, sampled at T 0.7=$E/f2s3T_{seed}.json@student1-t0.7" \
  "the two-call fold, seed 3, sampled at T 0.9=$E/f2s3T_{seed}.json@student1-t0.9"
