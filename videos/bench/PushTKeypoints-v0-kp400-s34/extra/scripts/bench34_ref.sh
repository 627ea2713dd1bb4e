#!/bin/bash
# stop 34: flow-100 reference row on a new seed set (traced networks, one thread)
# usage: bench34_ref.sh <seed>
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400
S=$1
rm -rf runs/b34ref_$S
.venv/bin/parapolicy-bench checkpoint=$K/checkpoint sections=[samplers] samplers_reference=flow100-t0.8 action_horizon=3 \
  episodes=100 num_envs=8 threads=1 jit=true 'rows=[flow100-t0.8,student1-t0.8]' students=[$K/student1_tr] \
  seed=$S out_dir=runs/b34ref_$S progress=false > runs/logs/b34ref_$S.log 2>&1
grep -h "t0.8: success" runs/logs/b34ref_$S.log
date; echo DONE
