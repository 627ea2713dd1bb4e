#!/bin/bash
# stop 41: the replan latency of cheaper draft networks (untrained checkpoints: `parapolicy-distill ...
# steps=1 'student_net=<spec>'`; success not read) alone and finished by one teacher call at 0.05, each
# beside flow-100 in its own bench process (lat41.sh's flags).
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400
for n in ${@:-lb1m0 lb1m1 d2lb1m0 mlp256}; do
  O=runs/b41lat_$n; rm -rf $O
  .venv/bin/parapolicy-bench checkpoint=$K/checkpoint sections=[samplers] samplers_reference=flow100-t0.8 action_horizon=3 \
    episodes=8 num_envs=8 threads=1 jit=true students=[$K/tmp_$n] latency_rounds=10 \
    "rows=[flow100-t0.8,student1-t0.8,draft-student1-flow1-at0.05-t0.8]" \
    seed=100000 out_dir=$O progress=false > runs/logs/b41lat_$n.log 2>&1
  grep -h "t0.8: success [0-9]" runs/logs/b41lat_$n.log | sed "s|^|$n |"
done
date; echo DONE
