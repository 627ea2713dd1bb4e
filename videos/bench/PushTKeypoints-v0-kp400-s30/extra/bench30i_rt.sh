#!/bin/bash
# Stop 30: a third run of the 16 ms synchronous real-time run with a four-call AB2 item before the student in the menu,
# on the three seed sets (one run at a time, nothing else on the CPU), into copies of the stop-30 sampler rows.
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400

for S in 100000 300000 500000; do
  rm -rf runs/b30i_$S; cp -r runs/b30a_$S runs/b30i_$S
  date; echo RT $S
  .venv/bin/parapolicy-bench checkpoint=$K/checkpoint students=[$K/student1_op] sections=[realtime] jit=true \
    realtime_planner=sync 'realtime_menu=[flow100-t0.8,flow8-rho2.5-ab2-t0.8,flow6-rho2.5-ab2-t0.8,flow5-rho2-ab2-t0.8,flow4-rho2-ab2-t0.8,student1-t0.8]' \
    realtime_budget_ms=16 realtime_hz=50 realtime_execute_every=3 realtime_reference=flow100-t0.8 action_horizon=3 \
    threads=1 seed=$S out_dir=runs/b30i_$S progress=false > runs/logs/b30i_rt_$S.log 2>&1
done
date; echo RTDONE
