#!/bin/bash
# stop 39: batch-1 replan latency with traced networks (now with MatmulConv1d) of flow-100 against
# (a) the stop-38 fold toward two teacher calls (1 call) and (b) student1_rho + one teacher call at 0.05
# (2 calls); latency passes interleaved in 10 rounds, alone on the CPU, one thread (bench37_latency.sh's flags)
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400
run() {  # <tag> <student> <second row>
  O=runs/b39lat_$1; rm -rf $O
  .venv/bin/parapolicy-bench checkpoint=$K/checkpoint sections=[samplers] samplers_reference=flow100-t0.8 action_horizon=3 \
    episodes=8 num_envs=8 threads=1 jit=true students=[$2] latency_rounds=10 "rows=[flow100-t0.8,$3]" \
    seed=100000 out_dir=$O progress=false > runs/logs/b39lat_$1.log 2>&1
  grep -h "t0.8: success [0-9]" runs/logs/b39lat_$1.log | sed "s|^|$1 |"
}
run f2 $K/student1_rho_fold2at0.1_ex100 student1-t0.8
run pair $K/student1_rho draft-student1-flow1-at0.05-t0.8
date; echo DONE
