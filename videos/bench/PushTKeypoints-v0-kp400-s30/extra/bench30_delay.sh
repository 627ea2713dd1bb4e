#!/bin/bash
# Stop 30: delay curves at Ta = 8 with the AB2 sampler (flow5-rho2-ab2, T = 0.8), 200 episodes per point;
# the forecaster is rebuilt alongside, then the lead + forecast modes run into the same delay.json (merge=true).
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400
date; echo START
.venv/bin/parapolicy-bench checkpoint=$K/checkpoint sections=[delay] delay_sampler=flow5-rho2-ab2-t0.8 delay_episodes=200 \
  'delay_modes=[naive,frozen,guided]' threads=1 out_dir=runs/b30_delay progress=false > runs/logs/b30_delay_rtc.log 2>&1 &
OMP_NUM_THREADS=1 .venv/bin/parapolicy-forecast checkpoint=$K/checkpoint max_delay=4 steps=20000 hidden=512 rollouts=100 \
  rollout_steps=10 temperature=0.8 out=$K/forecaster_roll progress=false > runs/logs/b30_forecaster.log 2>&1
date; echo FORECASTER_DONE
wait
date; echo RTC_DONE
.venv/bin/parapolicy-bench checkpoint=$K/checkpoint sections=[delay] delay_sampler=flow5-rho2-ab2-t0.8 delay_episodes=200 \
  'delay_modes=[frozen+lead+forecast,guided+lead+forecast]' forecaster=$K/forecaster_roll merge=true threads=1 \
  out_dir=runs/b30_delay progress=false > runs/logs/b30_delay_fc.log 2>&1
date; echo DELAYDONE
