#!/bin/bash
# stop 38: folds of the teacher's finish with the executed positions weighted harder (stop 36's fold flags)
# usage: fold38.sh <draft dir> <executed_weight> <out dir>
cd /work/main
export MUJOCO_GL=egl OMP_NUM_THREADS=1
K=runs/pusht_kp400
.venv/bin/parapolicy-finish checkpoint=$K/checkpoint draft=$1 fold=true batch_size=512 steps=4000 \
  lr=1e-4 executed_weight=$2 action_horizon=3 level=0.05 $EXTRA out=$3 progress=false > runs/logs/fold38_$(basename $3).log 2>&1
# the runs of stop 38:
#   fold38.sh runs/pusht_kp400/student1_rho 100 runs/pusht_kp400/student1_rho_fold_ex100
#   fold38.sh runs/pusht_kp400/student1_rho 1000 runs/pusht_kp400/student1_rho_fold_ex1000
#   EXTRA=init=runs/pusht_kp400/student1_rho_fold_ex100 fold38.sh runs/pusht_kp400/student1_rho 100 runs/pusht_kp400/student1_rho_fold_ex100b
#   EXTRA=seed=1 fold38.sh runs/pusht_kp400/student1_rho 100 runs/pusht_kp400/student1_rho_fold_ex100s1
#   EXTRA="level=0.1 finish_steps=2" fold38.sh runs/pusht_kp400/student1_rho 100 runs/pusht_kp400/student1_rho_fold2at0.1_ex100
#   EXTRA="level=0.1 finish_steps=2 seed=1" fold38.sh runs/pusht_kp400/student1_rho 100 runs/pusht_kp400/student1_rho_fold2at0.1_ex100s1
#   EXTRA="level=0.2 finish_steps=3" fold38.sh runs/pusht_kp400/student1_rho 100 runs/pusht_kp400/student1_rho_fold3at0.2_ex100
