#!/bin/bash
# stop 32: latency of flow-100, the 1-step student, its teacher-finished draft and the finisher student, alone on the CPU
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400
for J in false true; do
  rm -rf runs/b32lat_jit$J
  .venv/bin/parapolicy-bench checkpoint=$K/checkpoint sections=[samplers] samplers_reference=flow100-t0.8 action_horizon=3 \
    episodes=8 num_envs=8 threads=1 jit=$J students=[$K/student1_tr,$K/student2_fin_mid0] \
    'rows=[flow100-t0.8,student1-t0.8,draft-student1-flow1-at0.05-t0.8,student2-t0.8]' \
    seed=100000 out_dir=runs/b32lat_jit$J progress=false > runs/logs/b32lat_jit$J.log 2>&1
done
date; echo DONE
