#!/bin/bash
# Stop 30: fewer-call AB2 items (4 and 3 calls) on the three seed sets, into copies of stop 29's sampler rows.
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400
for S in 100000 300000 500000; do
  rm -rf runs/b30a_$S; cp -r runs/b29_$S runs/b30a_$S
  date; echo ROWS $S
  .venv/bin/parapolicy-bench checkpoint=$K/checkpoint sections=[samplers] samplers_reference=flow100-t0.8 action_horizon=3 \
    episodes=100 num_envs=8 threads=1 'rows=[flow4-rho2-ab2-t0.8,flow4-rho2.5-ab2-t0.8,flow3-rho2-ab2-t0.8]' \
    seed=$S out_dir=runs/b30a_$S progress=false > runs/logs/b30a_$S.log 2>&1
done
date; echo ROWSDONE
