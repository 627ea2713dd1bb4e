#!/bin/bash
# Stop 30: the same settings again after the quantile fix (no numpy.ma import in the first in-loop replan), on the three
# seed sets (one run at a time, nothing else on the CPU).
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400
for S in 100000 300000 500000; do
  rm -rf runs/b30f_$S; cp -r runs/b29_$S runs/b30f_$S
  date; echo RT $S
  .venv/bin/parapolicy-bench checkpoint=$K/checkpoint students=[$K/student1_op] sections=[realtime] jit=true \
    realtime_planner=sync 'realtime_menu=[flow100-t0.8,flow8-rho2.5-ab2-t0.8,flow6-rho2.5-ab2-t0.8,flow5-rho2-ab2-t0.8,student1-t0.8]' \
    realtime_budget_ms=16 realtime_hz=50 realtime_execute_every=3 realtime_reference=flow100-t0.8 action_horizon=3 \
    threads=1 seed=$S out_dir=runs/b30f_$S progress=false > runs/logs/b30f_rt_$S.log 2>&1
done
date; echo RTDONE
