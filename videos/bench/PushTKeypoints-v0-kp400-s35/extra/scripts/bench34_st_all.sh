#!/bin/bash
# stop 34: a student's success row on all nine seed sets: the three stop-28 sets (copies of stop 30's rows,
# eager, as in stops 32-33) and the six stop-34 sets (copies of their flow-100 folders, traced)
# usage: bench34_st_all.sh <student dir> <tag> [row, default student2-t0.8]
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400
ST=$1; TAG=$2; ROW=${3:-student2-t0.8}
for S in 100000 300000 500000; do
  rm -rf runs/b34${TAG}_$S; cp -r runs/b30a_$S runs/b34${TAG}_$S
  .venv/bin/parapolicy-bench checkpoint=$K/checkpoint sections=[samplers] samplers_reference=flow100-t0.8 action_horizon=3 \
    episodes=100 num_envs=8 threads=1 students=[$ST] "rows=[$ROW]" \
    seed=$S out_dir=runs/b34${TAG}_$S progress=false > runs/logs/b34${TAG}_$S.log 2>&1
  grep -h "t0.8: success" runs/logs/b34${TAG}_$S.log
done
for S in 700000 900000 1100000 1300000 1500000 1700000; do
  runs/bench34_st.sh $ST $TAG $S $ROW
done
