#!/bin/bash
# stop 36: a student's rows on the three seed sets, into copies of pusht36.sh's flow-100 folders (traced)
# usage: bench36_st.sh <student dir> <tag> <row>[,<row>...] [seed sets, default "100000 300000 500000"]
cd /work/main
export MUJOCO_GL=egl
ST=$1; TAG=$2; ROWS=$3
for S in ${4:-100000 300000 500000}; do
  D=runs/b36${TAG}_$S; rm -rf $D; cp -r runs/b36ref_$S $D
  .venv/bin/parapolicy-bench checkpoint=runs/pusht_kp400/checkpoint sections=[samplers] samplers_reference=flow100-t0.8 \
    action_horizon=3 episodes=100 num_envs=8 threads=1 jit=true students=[$ST] "rows=[$ROWS]" seed=$S out_dir=$D \
    progress=false > runs/logs/b36${TAG}_$S.log 2>&1
  grep -h "t0.8: success" runs/logs/b36${TAG}_$S.log
done
