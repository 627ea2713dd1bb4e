#!/bin/bash
# stop 41: how cheap can a 2-call replan get? The draft is a 12,768-parameter MLP (width 32, one block,
# untrained: runs/pusht_kp400/tiny_draft, `parapolicy-distill ... steps=1 'student_net={denoiser:mlp,
# mlp_width:32,mlp_blocks:1}'`), so the pair's time is about the teacher's one call at 0.05 plus the
# replan's own work. Its success means nothing; only latency is read. Beside it, in the same process,
# flow-100, the tiny draft alone, and (second run) the stop-38 fold + the same teacher call.
# lat39.sh's flags: traced, one thread, alone on the CPU, 10 interleaved latency rounds.
cd /work/main
export MUJOCO_GL=egl
K=runs/pusht_kp400
run() {  # <tag> <student> <rows>
  O=runs/b41lat_$1; rm -rf $O
  .venv/bin/parapolicy-bench checkpoint=$K/checkpoint sections=[samplers] samplers_reference=flow100-t0.8 action_horizon=3 \
    episodes=8 num_envs=8 threads=1 jit=true students=[$2] latency_rounds=10 "rows=[$3]" \
    seed=100000 out_dir=$O progress=false > runs/logs/b41lat_$1.log 2>&1
  grep -h "t0.8: success [0-9]" runs/logs/b41lat_$1.log | sed "s|^|$1 |"
}
run tiny $K/tiny_draft flow100-t0.8,student1-t0.8,draft-student1-flow1-at0.05-t0.8
run fold $K/student1_rho_fold2at0.1_ex100 flow100-t0.8,student1-t0.8,draft-student1-flow1-at0.05-t0.8
date; echo DONE
