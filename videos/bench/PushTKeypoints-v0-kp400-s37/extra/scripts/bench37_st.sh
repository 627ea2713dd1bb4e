#!/bin/bash
# stop 37: a student's rows on seed sets, into copies of their flow-100 folders (pusht36.sh / ref37.sh, traced)
# usage: bench37_st.sh <student dir> <tag> <row>[,<row>...] [seed sets, default "100000 300000 500000"]
cd /work/main
export MUJOCO_GL=egl OMP_NUM_THREADS=1
ST=$1; TAG=$2; ROWS=$3
for S in ${4:-100000 300000 500000}; do
  D=runs/b37${TAG}_$S; rm -rf $D; cp -r runs/b36ref_$S $D
  .venv/bin/parapolicy-bench checkpoint=runs/pusht_kp400/checkpoint sections=[samplers] samplers_reference=flow100-t0.8 \
    action_horizon=3 episodes=100 num_envs=8 threads=1 jit=true students=[$ST] "rows=[$ROWS]" seed=$S out_dir=$D \
    progress=false > runs/logs/b37${TAG}_$S.log 2>&1
  grep -h "t0.8: success" runs/logs/b37${TAG}_$S.log | sed "s|^|$TAG $S |"
done
