#!/bin/bash
# stop 37: batch-1 latency of flow-100 and a 1-step student, their latency passes interleaved in 10 rounds
# (latency_rounds), alone on the CPU, one thread, eager and traced (stop 35's bench35_latency.sh, two rows)
# usage: bench37_latency.sh <1-step student dir>
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400
F=$1; N=$(basename $F)
for J in false true; do
  O=runs/b37lat_${N}_jit$J
  rm -rf $O
  .venv/bin/parapolicy-bench checkpoint=$K/checkpoint sections=[samplers] samplers_reference=flow100-t0.8 action_horizon=3 \
    episodes=8 num_envs=8 threads=1 jit=$J students=[$F] latency_rounds=10 'rows=[flow100-t0.8,student1-t0.8]' \
    seed=100000 out_dir=$O progress=false > runs/logs/b37lat_${N}_jit$J.log 2>&1
  grep -h "t0.8: success [0-9]" runs/logs/b37lat_${N}_jit$J.log | sed "s|^|$N jit=$J |"
done
date; echo DONE
