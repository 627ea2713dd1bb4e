#!/bin/bash
# stop 37: the fold with a grown network (four more bottleneck blocks, started as the identity)
cd /work/main
export MUJOCO_GL=egl OMP_NUM_THREADS=1
K=runs/pusht_kp400; B=.venv/bin; L=runs/logs
F="$B/parapolicy-finish checkpoint=$K/checkpoint draft=$K/student1_rho fold=true level=0.05 batch_size=512 \
  steps=4000 lr=1e-4 progress=false"
$F 'net={mid_blocks: 6}' out=$K/student1_rho_fold_m6 > $L/fold37_m6.log 2>&1 &
$F 'net={mid_blocks: 6}' executed_weight=10 action_horizon=3 out=$K/student1_rho_fold_m6ex10 > $L/fold37_m6ex10.log 2>&1
wait
# then, after the two rows above were benched: the control for the weighted one, the draft's own network
$F executed_weight=10 action_horizon=3 out=$K/student1_rho_fold_ex10 > $L/fold37_ex10.log 2>&1
