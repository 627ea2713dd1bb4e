#!/bin/bash
# stop 32: a 1-step student on the U-Net without its bottleneck blocks, from student1_tr, on its bank
cd /work/main
OMP_NUM_THREADS=1 .venv/bin/parapolicy-distill checkpoint=runs/pusht_kp400/checkpoint init_student=runs/pusht_kp400/student1_tr \
  bank_from=runs/pusht_kp400/student1_tr 'student_net={mid_blocks:0}' student_steps=1 teacher_steps=20 teacher_time_power=2 \
  temperature=0.8 steps=3000 batch_size=512 lr=3e-4 action_horizon=3 out=runs/pusht_kp400/student1_nomid progress=false
