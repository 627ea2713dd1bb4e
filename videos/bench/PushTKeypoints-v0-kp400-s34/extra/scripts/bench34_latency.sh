#!/bin/bash
# stop 34: batch-1 latency of flow-100, the 1-step student, its teacher-finished draft and a finisher student,
# the four latency passes interleaved in 10 rounds (latency_rounds), alone on the CPU, eager and traced
# usage: bench34_latency.sh <tag> <finisher student dir>...  (one bench call per finisher and mode)
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400
TAG=$1; shift
for F in "$@"; do
  N=$(basename $F)
  for J in false true; do
    O=runs/b34lat${TAG}_${N}_jit$J
    rm -rf $O
    .venv/bin/parapolicy-bench checkpoint=$K/checkpoint sections=[samplers] samplers_reference=flow100-t0.8 action_horizon=3 \
      episodes=8 num_envs=8 threads=1 jit=$J students=[$K/student1_tr,$F] latency_rounds=10 \
      'rows=[flow100-t0.8,student1-t0.8,draft-student1-flow1-at0.05-t0.8,student2-t0.8]' \
      seed=100000 out_dir=$O progress=false > runs/logs/b34lat${TAG}_${N}_jit$J.log 2>&1
    grep -h "t0.8: success [0-9]" runs/logs/b34lat${TAG}_${N}_jit$J.log | sed "s|^|$N jit=$J |"
  done
done
date; echo DONE
