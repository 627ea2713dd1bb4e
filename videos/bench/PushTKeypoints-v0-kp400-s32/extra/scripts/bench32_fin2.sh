#!/bin/bash
# stop 32: the no-bottleneck finisher after student1_tr's draft, trained 6000 steps
cd /work/main
.venv/bin/parapolicy-finish checkpoint=runs/pusht_kp400/checkpoint draft=runs/pusht_kp400/student1_tr level=0.05 \
  'net={mid_blocks: 0}' steps=6000 batch_size=512 lr=3e-4 out=runs/pusht_kp400/student2_fin_mid0 progress=false
