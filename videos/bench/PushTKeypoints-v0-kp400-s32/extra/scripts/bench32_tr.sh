#!/bin/bash
# stop 32: 1-step student continued on its on-policy bank plus 1000 teacher (AB2-4) rollouts' histories
cd /work/main
.venv/bin/parapolicy-distill checkpoint=runs/pusht_kp400/checkpoint init_student=runs/pusht_kp400/student1_op \
  student_steps=1 teacher_steps=20 teacher_time_power=2 temperature=0.8 steps=4000 batch_size=512 lr=3e-4 \
  action_horizon=3 teacher_rollouts=1000 teacher_rollout_spec=flow4-rho2-ab2-t0.8 onpolicy_num_envs=16 \
  label_batch=2048 save_bank=true out=runs/pusht_kp400/student1_tr progress=false
