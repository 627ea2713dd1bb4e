#!/bin/bash
# stop 34: finishers after student1_op's draft (one thread each, two at a time on the 2-core CPU)
cd /work/main
export MUJOCO_GL=egl OMP_NUM_THREADS=1
K=runs/pusht_kp400
fin() {  # <out name> <net> [extra options]
  N=$1; NET=$2; shift 2
  .venv/bin/parapolicy-finish checkpoint=$K/checkpoint draft=$K/student1_op "net=$NET" batch_size=512 progress=false "$@" \
    out=$K/$N > runs/logs/$N.log 2>&1
}
fin student2_op_lb1m2 '{mid_blocks: 2, level_blocks: 1}' level=0.05 steps=6000 lr=5e-4 warmup=200 &
fin student2_op_mid0 '{mid_blocks: 0}' level=0.05 steps=6000 lr=3e-4 &
wait
date; echo DONE
