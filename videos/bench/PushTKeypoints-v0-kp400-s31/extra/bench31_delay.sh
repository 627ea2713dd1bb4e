#!/bin/bash
# Stop 31: the compensated delay curves again on fresh seeds (700000...; the forecaster rolled out on 300000...), AB2-5 at Ta = 8, 200 episodes per point.
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400
date; echo START
.venv/bin/parapolicy-bench checkpoint=$K/checkpoint sections=[delay] delay_sampler=flow5-rho2-ab2-t0.8 delay_episodes=200 \
  'delay_modes=[frozen+lead+forecast,guided+lead+forecast]' forecaster=$K/forecaster_roll threads=1 seed=700000 \
  out_dir=runs/b31_delay_700000 progress=false > runs/logs/b31_delay_700000.log 2>&1
date; echo DELAYDONE
