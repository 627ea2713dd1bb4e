#!/bin/bash
# Stop 31: two more runs (10th and 11th) of stop 30's 16 ms synchronous real-time settings with the four-call AB2 item
# (traced), on the three seed sets, one run at a time with nothing else on the CPU, into copies of stop 30's sampler rows.
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400
for R in 10 11; do
  for S in 100000 300000 500000; do
    rm -rf runs/b31_rt${R}_$S; cp -r runs/b30a_$S runs/b31_rt${R}_$S
    date; echo RT $R $S
    .venv/bin/parapolicy-bench checkpoint=$K/checkpoint students=[$K/student1_op] sections=[realtime] jit=true \
      realtime_planner=sync 'realtime_menu=[flow100-t0.8,flow8-rho2.5-ab2-t0.8,flow6-rho2.5-ab2-t0.8,flow5-rho2-ab2-t0.8,flow4-rho2-ab2-t0.8,student1-t0.8]' \
      realtime_budget_ms=16 realtime_hz=50 realtime_execute_every=3 realtime_reference=flow100-t0.8 action_horizon=3 \
      threads=1 seed=$S out_dir=runs/b31_rt${R}_$S progress=false > runs/logs/b31_rt${R}_$S.log 2>&1
  done
done
date; echo RTDONE
