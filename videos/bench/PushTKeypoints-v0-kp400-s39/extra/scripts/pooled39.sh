#!/bin/bash
# stop 39: pooled, seed-paired success on the stop-36 teacher's nine seed sets (stop 34's pooled.py);
# output: ../pooled39.out. Flow-100 from stops 36/37; the two folds souped here from stop 38.
cd "$(dirname "$0")/../.."  # videos/bench/PushTKeypoints-v0-kp400-s39
E=extra; Q=../PushTKeypoints-v0-kp400-s38/extra; P=../PushTKeypoints-v0-kp400-s37/extra; O=../PushTKeypoints-v0-kp400-s36/extra
python3 ../PushTKeypoints-v0-kp400-s34/extra/probes/pooled.py ${SETS:-100000,300000,500000,700000,900000,1100000,1300000,1500000,1700000} \
  "$O/ref_{seed}.json+$P/ref_{seed}.json" \
  "fold toward two teacher calls from 0.1 (stop 38)=$Q/f2_{seed}.json@student1-t0.8" \
  "the same, seed 1 (stop 38)=$Q/f2s1_{seed}.json@student1-t0.8" \
  "soup: mean weights of those two=$E/soupf2_{seed}.json@student1-t0.8" \
  "soup: those two and the two executed-x100 folds toward one call=$E/soup4_{seed}.json@student1-t0.8" \
  ${EXTRA_ROWS}
