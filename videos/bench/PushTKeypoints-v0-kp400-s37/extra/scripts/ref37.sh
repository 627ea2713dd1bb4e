#!/bin/bash
# stop 37: flow-100 on more seed sets for the stop-36 teacher (pusht36.sh's ref), one thread each
cd /work/main
export MUJOCO_GL=egl OMP_NUM_THREADS=1
K=runs/pusht_kp400; B=.venv/bin; L=runs/logs
for S in "$@"; do
  [ -e runs/b36ref_$S/samplers.json ] && continue
  $B/parapolicy-bench checkpoint=$K/checkpoint sections=[samplers] samplers_reference=flow100-t0.8 action_horizon=3 \
    episodes=100 num_envs=8 threads=1 jit=true 'rows=[flow100-t0.8]' seed=$S out_dir=runs/b36ref_$S progress=false \
    > $L/b36ref_$S.log 2>&1
done
