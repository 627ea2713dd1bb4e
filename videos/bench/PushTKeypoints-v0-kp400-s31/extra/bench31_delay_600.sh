#!/bin/bash
# Stop 31: d = 0 and d = 4 with the 600-rollout forecaster (forecaster_ab2_600) on the same eight seed sets, four per core.
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400
run() {
  for S in "$@"; do
    .venv/bin/parapolicy-bench checkpoint=$K/checkpoint sections=[delay] delay_sampler=flow5-rho2-ab2-t0.8 delay_episodes=200 \
      'delay_values=[0,4]' 'delay_modes=[frozen+lead+forecast,guided+lead+forecast]' forecaster=$K/forecaster_ab2_600 \
      threads=1 seed=$S out_dir=runs/b31_delay_fc600_$S progress=false > runs/logs/b31_delay_fc600_$S.log 2>&1
  done
}
date; echo START
run 100000 1100000 1500000 1900000 &
run 700000 1300000 1700000 2100000 &
wait
date; echo DELAYDONE
