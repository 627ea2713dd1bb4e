#!/bin/bash
# stop 36: pooled, seed-paired success on the rebuilt teacher's three seed sets (stop 34's pooled.py)
cd "$(dirname "$0")/../.."  # videos/bench/PushTKeypoints-v0-kp400-s36
E=extra
python3 ../PushTKeypoints-v0-kp400-s34/extra/probes/pooled.py 100000,300000,500000 "$E/ref_{seed}.json" \
  "1-step draft student1_rho=$E/rho_{seed}.json@student1-t0.8" \
  "draft + one teacher call at 0.05=$E/rho_{seed}.json@draft-student1-flow1-at0.05-t0.8" \
  "fold on the bank=$E/fold_{seed}.json@student1-t0.8" \
  "fold on the bank + 300 of the draft's episodes=$E/roll_{seed}.json@student1-t0.8" \
  "fold on the bank + one teacher call at 0.05=$E/tfold_{seed}.json@draft-student1-flow1-at0.05-t0.8" \
  "second fold round (the first fold as the draft)=$E/fold2_{seed}.json@student1-t0.8"
