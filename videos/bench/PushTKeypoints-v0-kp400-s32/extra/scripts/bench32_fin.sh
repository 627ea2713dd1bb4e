#!/bin/bash
# stop 32: a 2-level U-Net finisher (down_dims [32, 64], one bottleneck block) after student1_tr's draft
cd /work/main
.venv/bin/parapolicy-finish checkpoint=runs/pusht_kp400/checkpoint draft=runs/pusht_kp400/student1_tr level=0.05 \
  'net={down_dims: [32, 64], mid_blocks: 1}' steps=4000 batch_size=512 lr=1e-3 out=runs/pusht_kp400/student2_fin_d2 progress=false
