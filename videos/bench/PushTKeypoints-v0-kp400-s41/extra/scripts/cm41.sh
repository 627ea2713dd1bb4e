#!/bin/bash
# stop 41: the cost model's predictions after the steady-cost change, on the stop-36 teacher: flow-100,
# flow-10, five AB2 calls, Picard with lookahead, the 1-call fold and the fold + one teacher call, in
# one bench process (traced, one thread, alone on the CPU, 10 interleaved latency rounds).
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400
O=runs/b41cm_${1:-a}; rm -rf $O
.venv/bin/parapolicy-bench checkpoint=$K/checkpoint sections=[samplers] samplers_reference=flow100-t0.8 action_horizon=3 \
  episodes=8 num_envs=8 threads=1 jit=true students=[$K/student1_rho_fold2at0.1_ex100] latency_rounds=10 \
  "rows=[flow100-t0.8,flow10-t0.8,flow5-rho2-ab2-t0.8,picard-flow100-p16-look-t0.8,student1-t0.8,draft-student1-flow1-at0.05-t0.8]" \
  seed=100000 out_dir=$O progress=false > runs/logs/b41cm_${1:-a}.log 2>&1
grep -h "t0.8: success [0-9]" runs/logs/b41cm_${1:-a}.log
date; echo DONE
