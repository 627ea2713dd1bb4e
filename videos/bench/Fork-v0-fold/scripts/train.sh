#!/bin/bash
# stop 36: a flow teacher on Fork-v0, its 1-step student, and two folds of it (with and without the draft's rollouts)
cd /work/main
export MUJOCO_GL=egl
K=runs/fork_flow; B=.venv/bin
$B/parapolicy-collect env=Fork-v0 episodes=1000 out=runs/data/fork1000.hdf5 progress=false
OMP_NUM_THREADS=2 $B/parapolicy-train env=Fork-v0 policy.objective=flow dataset=runs/data/fork1000.hdf5 out=$K \
  train.steps=1500 train.lr=1e-3 eval_episodes=0 progress=false            # 2 min
export OMP_NUM_THREADS=1                                                       # each beside another job
$B/parapolicy-distill checkpoint=$K/checkpoint student_steps=1 steps=3000 lr=1e-3 bank_size=16384 batch_size=256 \
  save_bank=true out=$K/student1 progress=false                               # 369 s
F="$B/parapolicy-finish checkpoint=$K/checkpoint draft=$K/student1 fold=true level=0.05 batch_size=256 steps=2000 \
  lr=1e-4 progress=false"
$F out=$K/fold                                                                # 360 s
$F rollouts=200 rollout_share=0.5 out=$K/fold_roll                            # 347 s
# then: bench_ref.sh (flow-100, flow-10 on three seed sets), and bench_student.sh <student> <tag> for
# runs/fork_flow/student1 (s1), runs/fork_flow/fold (fold) and runs/fork_flow/fold_roll (foldroll)
