#!/bin/bash
# stop 41: a cheap draft for the teacher's finish. The stop-38 fold toward two teacher calls from 0.1
# (seed 0, 0.925x alone, 0.976x with one teacher call at 0.05) is folded again into a two-level U-Net
# (down_dims [32, 64], one block per level, no bottleneck block: 107 k parameters, 36 of its 50 tensors
# taken from the fold), toward the teacher's two-step finish of the frozen fold from 0.1.
# usage: cheapfold41.sh <out dir> [extra finish flags]
cd /work/main
export MUJOCO_GL=egl OMP_NUM_THREADS=1
K=runs/pusht_kp400
.venv/bin/parapolicy-finish checkpoint=$K/checkpoint draft=$K/student1_rho_fold2at0.1_ex100 fold=true batch_size=512 \
  'net={down_dims:[32,64],level_blocks:1,mid_blocks:0}' steps=4000 lr=5e-4 warmup=200 executed_weight=100 \
  action_horizon=3 level=0.1 finish_steps=2 "${@:2}" out=$1 progress=true > runs/logs/cheapfold41_$(basename $1).log 2>&1
