#!/bin/bash
# stop 34: a student's success row on a stop-34 seed set, into a copy of that set's flow-100 folder
# usage: bench34_st.sh <student dir> <tag> <seed> [row, default student2-t0.8]
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400
ST=$1; TAG=$2; S=$3; ROW=${4:-student2-t0.8}
rm -rf runs/b34${TAG}_$S; cp -r runs/b34ref_$S runs/b34${TAG}_$S
.venv/bin/parapolicy-bench checkpoint=$K/checkpoint sections=[samplers] samplers_reference=flow100-t0.8 action_horizon=3 \
  episodes=100 num_envs=8 threads=1 jit=true students=[$ST] "rows=[$ROW]" \
  seed=$S out_dir=runs/b34${TAG}_$S progress=false > runs/logs/b34${TAG}_$S.log 2>&1
grep -h "t0.8: success" runs/logs/b34${TAG}_$S.log
