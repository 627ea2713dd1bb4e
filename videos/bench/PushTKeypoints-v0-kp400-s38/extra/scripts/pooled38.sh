#!/bin/bash
# stop 38: pooled, seed-paired success on the stop-36 teacher's nine seed sets (stop 34's pooled.py);
# output: ../pooled38.out. Flow-100, the demonstration-bank draft and stop 37's weighted fold come from stops 36 and 37
cd "$(dirname "$0")/../.."  # videos/bench/PushTKeypoints-v0-kp400-s38
E=extra; P=../PushTKeypoints-v0-kp400-s37/extra; O=../PushTKeypoints-v0-kp400-s36/extra
python3 ../PushTKeypoints-v0-kp400-s34/extra/probes/pooled.py ${SETS:-100000,300000,500000,700000,900000,1100000,1300000,1500000,1700000} \
  "$O/ref_{seed}.json+$P/ref_{seed}.json" \
  "1-step draft student1_rho=$O/rho_{seed}.json+$P/rho_{seed}.json@student1-t0.8" \
  "student1_rho + one teacher call at 0.05=$O/rho_{seed}.json+$P/rho_{seed}.json@draft-student1-flow1-at0.05-t0.8" \
  "fold of student1_rho, executed x10 (stop 37)=$P/ex10_{seed}.json@student1-t0.8" \
  "teacher-rollout draft student1_tr=$E/tr_{seed}.json@student1-t0.8" \
  "student1_tr + one teacher call at 0.05=$E/tr_{seed}.json@draft-student1-flow1-at0.05-t0.8" \
  "student1_rho + two teacher calls from 0.1=$E/fin2_{seed}.json@draft-student1-flow2-at0.1-t0.8" \
  "student1_rho + three teacher calls from 0.2 (rho 2)=$E/fin3_{seed}.json@draft-student1-flow3-rho2-at0.2-t0.8" \
  "fold of student1_rho, executed x100=$E/ex100_{seed}.json@student1-t0.8" \
  "fold of student1_rho, executed x1000=$E/ex1000_{seed}.json@student1-t0.8" \
  "fold x100 + 4000 more steps (init)=$E/ex100b_{seed}.json@student1-t0.8" \
  "fold, executed x100, seed 1=$E/ex100s1_{seed}.json@student1-t0.8" \
  "fold toward two teacher calls from 0.1, executed x100=$E/f2_{seed}.json@student1-t0.8" \
  "the same, seed 1=$E/f2s1_{seed}.json@student1-t0.8" \
  "fold toward three teacher calls from 0.2 (even grid), executed x100=$E/f3_{seed}.json@student1-t0.8"
