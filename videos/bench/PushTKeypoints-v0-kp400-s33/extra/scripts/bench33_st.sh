#!/bin/bash
# stop 33: a student's success row on the three stop-28 seed sets, into copies of stop 30's sampler rows
# usage: bench33_st.sh <student dir> <tag> [row, default student2-t0.8]
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400
ST=$1; TAG=$2; ROW=${3:-student2-t0.8}
run() {
  S=$1
  rm -rf runs/b33${TAG}_$S; cp -r runs/b30a_$S runs/b33${TAG}_$S
  .venv/bin/parapolicy-bench checkpoint=$K/checkpoint sections=[samplers] samplers_reference=flow100-t0.8 action_horizon=3 \
    episodes=100 num_envs=8 threads=1 students=[$ST] "rows=[$ROW]" \
    seed=$S out_dir=runs/b33${TAG}_$S progress=false > runs/logs/b33${TAG}_$S.log 2>&1
}
run 100000 & run 300000 & wait
run 500000
grep -h "t0.8: success" runs/logs/b33${TAG}_*.log
date; echo DONE
