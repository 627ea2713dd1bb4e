#!/bin/bash
# Stop 31: the compensated delay curves (forecaster_ab2) on six more seed sets, three per core, so each point
# pools 1600 episodes with the two sets above; AB2-5 at Ta = 8, 200 episodes per point per set.
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400
run() {
  for S in "$@"; do
    .venv/bin/parapolicy-bench checkpoint=$K/checkpoint sections=[delay] delay_sampler=flow5-rho2-ab2-t0.8 delay_episodes=200 \
      'delay_modes=[frozen+lead+forecast,guided+lead+forecast]' forecaster=$K/forecaster_ab2 threads=1 seed=$S \
      out_dir=runs/b31_delay_ab2fc_$S progress=false > runs/logs/b31_delay_ab2fc_$S.log 2>&1
  done
}
date; echo START
run 1100000 1300000 1500000 &
run 1700000 1900000 2100000 &
wait
date; echo DELAYDONE
