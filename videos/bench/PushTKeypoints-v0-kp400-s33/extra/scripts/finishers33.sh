#!/bin/bash
# stop 33: the finishers tried after student1_tr's draft (one thread each, two at a time on the 2-core CPU)
cd /work/main
export MUJOCO_GL=egl OMP_NUM_THREADS=1
K=runs/pusht_kp400
fin() {  # <out name> <net> [extra options]
  N=$1; NET=$2; shift 2
  .venv/bin/parapolicy-finish checkpoint=$K/checkpoint draft=$K/student1_tr "net=$NET" batch_size=512 "$@" \
    out=$K/$N > runs/logs/$N.log 2>&1
}
# a skip MLP that corrects the draft's x0 (level 0.001) toward the teacher's finish from 0.05
fin student2_fin_mlp256 '{denoiser: mlp, mlp_width: 256, mlp_blocks: 3, x0_skip: true}' level=0.001 teacher_level=0.05 \
  steps=1500 lr=3e-4 warmup=200
# shallower U-Nets, started from the teacher's outer levels
fin student2_fin_d1 '{down_dims: [32], mid_blocks: 2}' level=0.05 steps=3000 lr=1e-3 warmup=200
fin student2_fin_d2m0 '{down_dims: [32, 64], mid_blocks: 0}' level=0.05 steps=4000 lr=5e-4 warmup=200
# the teacher's three levels with one block per level
fin student2_fin_lb1m1 '{mid_blocks: 1, level_blocks: 1}' level=0.05 steps=6000 lr=5e-4 warmup=200
fin student2_fin_lb1m1_9k '{mid_blocks: 1, level_blocks: 1}' level=0.05 steps=9000 lr=5e-4 warmup=200 seed=1
fin student2_fin_lb1m2 '{mid_blocks: 2, level_blocks: 1}' level=0.05 steps=6000 lr=5e-4 warmup=200
