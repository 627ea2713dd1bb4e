#!/bin/bash
# stop 33: latency of flow-100, the 1-step student, the stop-32 finisher student and the new one, alone on the CPU
# usage: bench33_latency.sh <new finisher student dir>
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400
NEW=$1
for J in false true; do
  rm -rf runs/b33lat_jit$J
  .venv/bin/parapolicy-bench checkpoint=$K/checkpoint sections=[samplers] samplers_reference=flow100-t0.8 action_horizon=3 \
    episodes=8 num_envs=8 threads=1 jit=$J students=[$K/student1_tr,$K/student2_fin_mid0] \
    'rows=[flow100-t0.8,student1-t0.8,student2-t0.8]' \
    seed=100000 out_dir=runs/b33lat_jit$J progress=false > runs/logs/b33lat_jit$J.log 2>&1
  rm -rf runs/b33latnew_jit$J
  .venv/bin/parapolicy-bench checkpoint=$K/checkpoint sections=[samplers] samplers_reference=flow100-t0.8 action_horizon=3 \
    episodes=8 num_envs=8 threads=1 jit=$J students=[$NEW] \
    'rows=[flow100-t0.8,student2-t0.8]' \
    seed=100000 out_dir=runs/b33latnew_jit$J progress=false > runs/logs/b33latnew_jit$J.log 2>&1
done
grep -h "p50" runs/logs/b33lat*_jit*.log
date; echo DONE
