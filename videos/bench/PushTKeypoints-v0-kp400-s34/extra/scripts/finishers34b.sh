#!/bin/bash
# stop 34: the two student1_tr finishers trained 5000 steps more (init=), one thread each
cd /work/main
export MUJOCO_GL=egl OMP_NUM_THREADS=1
K=runs/pusht_kp400
fin() {  # <out name> <init> <net> [extra options]
  N=$1; I=$2; NET=$3; shift 3
  .venv/bin/parapolicy-finish checkpoint=$K/checkpoint draft=$K/student1_tr "net=$NET" batch_size=512 progress=false \
    init=$K/$I "$@" out=$K/$N > runs/logs/$N.log 2>&1
}
fin student2_fin_mid0_11k student2_fin_mid0 '{mid_blocks: 0}' level=0.05 steps=5000 lr=1.5e-4 warmup=100 seed=2 &
fin student2_fin_lb1m2_11k student2_fin_lb1m2 '{mid_blocks: 2, level_blocks: 1}' level=0.05 steps=5000 lr=2.5e-4 warmup=100 seed=2 &
wait
date; echo DONE
