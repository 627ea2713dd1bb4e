#!/bin/bash
# Stop 31: a larger-data forecaster: 600 rollouts of AB2-5 (T = 0.8, Ta = 8), 80,000 steps.
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400
date; echo START
OMP_NUM_THREADS=2 .venv/bin/parapolicy-forecast checkpoint=$K/checkpoint max_delay=4 steps=80000 hidden=512 rollouts=600 \
  rollout_spec=flow5-rho2-ab2-t0.8 out=$K/forecaster_ab2_600 progress=false > runs/logs/b31_forecaster_ab2_600.log 2>&1
date; echo FCDONE
