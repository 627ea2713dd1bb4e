#!/bin/bash
# stop 32: the 1-step students at lower sampling temperatures, on the three stop-28 seed sets
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400
ROWS=${ROWS:-student1-t0.4,student1-t0.6}
run() {
  ST=$1; TAG=$2; S=$3
  .venv/bin/parapolicy-bench checkpoint=$K/checkpoint sections=[samplers] samplers_reference=flow100-t0.8 action_horizon=3 \
    episodes=100 num_envs=8 threads=1 students=[$K/$ST] "rows=[$ROWS]" \
    seed=$S out_dir=runs/b32${TAG}_$S progress=false > runs/logs/b32${TAG}_temp_$S.log 2>&1
}
for S in 100000 300000 500000; do
  [ -d runs/b32op_$S ] || cp -r runs/b30a_$S runs/b32op_$S
  run student1_tr tr $S & run student1_op op $S & wait
done
date; echo DONE
