#!/bin/bash
# stop 36: flow-100 and flow-10 of the Fork-v0 flow teacher on three seed sets of 100 episodes
cd /work/main; export MUJOCO_GL=egl
for S in 100000 300000 500000; do
  .venv/bin/parapolicy-bench checkpoint=runs/fork_flow/checkpoint sections=[samplers] samplers_reference=flow100 \
    episodes=100 num_envs=8 threads=1 'rows=[flow100,flow10]' seed=$S out_dir=runs/fref_$S progress=false > runs/logs/fref_$S.log 2>&1
  grep -h ": success" runs/logs/fref_$S.log
done
