#!/bin/bash
# stop 36: a 1-step student row into a copy of each seed set's reference folder (bench_ref.sh)
# usage: bench_student.sh <student dir> <tag> [row, default student1]
cd /work/main; export MUJOCO_GL=egl
ST=$1; TAG=$2; ROW=${3:-student1}
for S in 100000 300000 500000; do
  D=runs/f${TAG}_$S; rm -rf $D; cp -r runs/fref_$S $D
  .venv/bin/parapolicy-bench checkpoint=runs/fork_flow/checkpoint sections=[samplers] samplers_reference=flow100 \
    episodes=100 num_envs=8 threads=1 students=[$ST] "rows=[$ROW]" seed=$S out_dir=$D progress=false > runs/logs/f${TAG}_$S.log 2>&1
  grep -h ": success" runs/logs/f${TAG}_$S.log
done
