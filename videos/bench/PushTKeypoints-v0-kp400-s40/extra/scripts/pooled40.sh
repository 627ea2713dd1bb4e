#!/bin/bash
# stop 40: pooled, seed-paired success on the stop-36 teacher's nine seed sets (stop 34's pooled.py);
# output: ../pooled40.out. Flow-100 from stops 36/37; the four folds from stops 38/39.
cd "$(dirname "$0")/../.."  # videos/bench/PushTKeypoints-v0-kp400-s40
E=extra; Q=../PushTKeypoints-v0-kp400-s38/extra; R=../PushTKeypoints-v0-kp400-s39/extra; P=../PushTKeypoints-v0-kp400-s37/extra; O=../PushTKeypoints-v0-kp400-s36/extra
python3 ../PushTKeypoints-v0-kp400-s34/extra/probes/pooled.py ${SETS:-100000,300000,500000,700000,900000,1100000,1300000,1500000,1700000} \
  "$O/ref_{seed}.json+$P/ref_{seed}.json" \
  "fold toward two teacher calls from 0.1, seed 0 (stop 38)=$Q/f2_{seed}.json@student1-t0.8" \
  "the same, seed 1 (stop 38)=$Q/f2s1_{seed}.json@student1-t0.8" \
  "the same, seed 2 (stop 39)=$R/f2s2_{seed}.json@student1-t0.8" \
  "the same, seed 3 (stop 39)=$R/f2s3_{seed}.json@student1-t0.8" \
  "output ensemble: the mean of those four folds' outputs for the same noise (4 calls)=$E/ens4_{seed}.json@student1-t0.8" \
  "fold seed 0 + one teacher call at 0.05 (2 calls)=$E/f2pair_{seed}.json@draft-student1-flow1-at0.05-t0.8" \
  "fold seed 0 + two teacher calls from 0.1 (3 calls)=$E/f2pair_{seed}.json@draft-student1-flow2-at0.1-t0.8"
python3 ../PushTKeypoints-v0-kp400-s34/extra/probes/pooled.py ${SETS:-100000,300000,500000,700000,900000,1100000,1300000,1500000,1700000} \
  "$O/ref_{seed}.json+$P/ref_{seed}.json" \
  "second fold round: that fold folded toward its own two teacher calls from 0.1 (1 call)=$E/r2f2_{seed}.json@student1-t0.8" \
  "second fold round: toward its own one teacher call at 0.05 (1 call)=$E/r2f1_{seed}.json@student1-t0.8" \
  "gate (probes/gate_bench.py): the pair, every row escalated, this stop's code (2 calls)=$E/gall_{seed}.json@draft-student1-flow1-at0.05-t0.8" \
  "gate: oracle, the 50% of rows with the largest teacher correction=$E/g50_{seed}.json@draft-student1-flow1-at0.05-t0.8" \
  "gate: oracle, the largest third=$E/g67_{seed}.json@draft-student1-flow1-at0.05-t0.8" \
  "gate: oracle, the largest quarter=$E/g75_{seed}.json@draft-student1-flow1-at0.05-t0.8" \
  "gate: oracle, the largest 40%=$E/g60_{seed}.json@draft-student1-flow1-at0.05-t0.8" \
  "gate: random, half of the rows=$E/gr50_{seed}.json@draft-student1-flow1-at0.05-t0.8" \
  "gate: random, a third of the rows=$E/gr33_{seed}.json@draft-student1-flow1-at0.05-t0.8"
