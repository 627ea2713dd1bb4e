#!/bin/bash
# stop 34: the teacher-finished draft of a 1-step student on the three stop-28 seed sets (copies of stop 30's rows, eager)
# usage: bench34_tfin_old.sh <1-step student dir> <tag>
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400
ST=$1; TAG=$2
for S in 100000 300000 500000; do
  rm -rf runs/b34${TAG}_$S; cp -r runs/b30a_$S runs/b34${TAG}_$S
  .venv/bin/parapolicy-bench checkpoint=$K/checkpoint sections=[samplers] samplers_reference=flow100-t0.8 action_horizon=3 \
    episodes=100 num_envs=8 threads=1 students=[$ST] "rows=[draft-student1-flow1-at0.05-t0.8]" \
    seed=$S out_dir=runs/b34${TAG}_$S progress=false > runs/logs/b34${TAG}_$S.log 2>&1
  grep -h "t0.8: success" runs/logs/b34${TAG}_$S.log
done
