#!/bin/bash
# Stop 31: the compensated delay curves with the forecaster trained on AB2-5 rollouts (forecaster_ab2), on the
# stop-30 seeds (100000...) and this stop's (700000...), one set per core, AB2-5 at Ta = 8, 200 episodes per point.
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400
date; echo START
for S in 100000 700000; do
  .venv/bin/parapolicy-bench checkpoint=$K/checkpoint sections=[delay] delay_sampler=flow5-rho2-ab2-t0.8 delay_episodes=200 \
    'delay_modes=[frozen+lead+forecast,guided+lead+forecast]' forecaster=$K/forecaster_ab2 threads=1 seed=$S \
    out_dir=runs/b31_delay_ab2fc_$S progress=false > runs/logs/b31_delay_ab2fc_$S.log 2>&1 &
done
wait
date; echo DELAYDONE
