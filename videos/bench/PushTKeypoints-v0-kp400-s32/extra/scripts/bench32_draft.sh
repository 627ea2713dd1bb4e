#!/bin/bash
# stop 32: 1-step drafts finished by one teacher call at t = 0.05, on the three stop-28 seed sets
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400
for S in 100000 300000 500000; do
  for P in "dr student1_tr" "cd student1_nomid"; do
    set -- $P
    [ -d runs/b32$1_$S ] || cp -r runs/b30a_$S runs/b32$1_$S
    .venv/bin/parapolicy-bench checkpoint=$K/checkpoint sections=[samplers] samplers_reference=flow100-t0.8 action_horizon=3 \
      episodes=100 num_envs=8 threads=1 students=[$K/$2] 'rows=[draft-student1-flow1-at0.05-t0.8,student1-t0.8]' \
      seed=$S out_dir=runs/b32$1_$S progress=false > runs/logs/b32$1_$S.log 2>&1
  done
done
date; echo DONE
