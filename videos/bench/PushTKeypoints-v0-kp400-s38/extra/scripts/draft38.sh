#!/bin/bash
# stop 38: stop 32's teacher-rollout draft, rebuilt on the stop-36 teacher from its demonstration-bank draft
cd /work/main
export MUJOCO_GL=egl OMP_NUM_THREADS=1
K=runs/pusht_kp400; B=.venv/bin
$B/parapolicy-distill checkpoint=$K/checkpoint init_student=$K/student1_rho student_steps=1 teacher_steps=20 \
  teacher_time_power=2 temperature=0.8 steps=4000 batch_size=512 lr=3e-4 action_horizon=3 \
  teacher_rollouts=1000 teacher_rollout_spec=flow4-rho2-ab2-t0.8 onpolicy_num_envs=16 label_batch=2048 \
  save_bank=true out=$K/student1_tr progress=false > runs/logs/draft38_tr.log 2>&1
