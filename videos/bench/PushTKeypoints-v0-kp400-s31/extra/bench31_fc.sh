#!/bin/bash
# Stop 31: a forecaster trained on 300 rollouts of the deployed sampler (AB2-5, T = 0.8, Ta = 8), 40,000 steps.
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400
date; echo START
OMP_NUM_THREADS=1 .venv/bin/parapolicy-forecast checkpoint=$K/checkpoint max_delay=4 steps=40000 hidden=512 rollouts=300 \
  rollout_spec=flow5-rho2-ab2-t0.8 out=$K/forecaster_ab2 progress=false > runs/logs/b31_forecaster_ab2.log 2>&1
date; echo FCDONE
