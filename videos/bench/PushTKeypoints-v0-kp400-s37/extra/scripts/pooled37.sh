#!/bin/bash
# stop 37: pooled, seed-paired success on the stop-36 teacher's nine seed sets (stop 34's pooled.py);
# the first three sets' stop-36 rows are in ../PushTKeypoints-v0-kp400-s36/extra, the rest here
cd "$(dirname "$0")/../.."  # videos/bench/PushTKeypoints-v0-kp400-s37
E=extra; O=../PushTKeypoints-v0-kp400-s36/extra
python3 ../PushTKeypoints-v0-kp400-s34/extra/probes/pooled.py ${SETS:-100000,300000,500000,700000,900000,1100000,1300000,1500000,1700000} \
  "$O/ref_{seed}.json+$E/ref_{seed}.json" \
  "1-step draft student1_rho=$O/rho_{seed}.json+$E/rho_{seed}.json@student1-t0.8" \
  "draft + one teacher call at 0.05=$O/rho_{seed}.json+$E/rho_{seed}.json@draft-student1-flow1-at0.05-t0.8" \
  "fold (stop 36)=$O/fold_{seed}.json+$E/fold_{seed}.json@student1-t0.8" \
  "fold, executed positions x10=$E/ex10_{seed}.json@student1-t0.8" \
  "grown fold, mid_blocks 6=$E/m6_{seed}.json@student1-t0.8" \
  "grown fold, mid_blocks 6, executed positions x10=$E/m6ex10_{seed}.json@student1-t0.8"
