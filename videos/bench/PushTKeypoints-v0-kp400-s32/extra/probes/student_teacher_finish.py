"""The 1-step student's draft finished by one call of the teacher's network at a low level (stop 32).

The chain 1 → t_m → 0: the student's velocity at t = 1 takes the noise z to
x_tm = t_m·z + (1 − t_m)·x̂0 (its own x0 estimate re-noised with the same z), and the teacher's
network makes the last Euler step from t_m. Two calls, one of each network. Stop 23 found that one
teacher call from t_m = 0.05 finishes the teacher's own chain as well as many; this asks whether it
also finishes the student's draft. Ta = 3, T = 0.8, 100 episodes, 8 envs, seeds SEED … (as the bench).

    MUJOCO_GL=egl .venv/bin/python videos/bench/PushTKeypoints-v0-kp400-s32/extra/probes/student_teacher_finish.py \
        runs/pusht_kp400/student1_tr 100000 0.05,0.1
"""
import dataclasses
import json
import math
import os
import sys
import time

os.environ.setdefault("MUJOCO_GL", "egl")
import torch

from parapolicy.planners.menu import load_students, make_context
from parapolicy.planners.realtime import MenuItem, RealtimePlanner
from parapolicy.planners.sequential import SequentialSampler
from parapolicy.planners.student_draft import LevelRoutedDenoiser
from parapolicy.planners.vector_eval import evaluate_vector, summarize_results
from parapolicy.policies.checkpoint import load_policy
from parapolicy.scripts.common import EnvConfig

torch.set_num_threads(1)
K, TA, TEMP = "runs/pusht_kp400", 3, 0.8
student_dir, seed, levels = sys.argv[1], int(sys.argv[2]), [float(x) for x in sys.argv[3].split(",")]
pol = load_policy(f"{K}/checkpoint")
studs = load_students([student_dir], pol)
student = studs[1]
ctx = make_context(pol, student=studs, seed=seed)
model = dataclasses.replace(ctx.model, action_horizon=TA)
for tm in levels:
    name = f"student1+teacher@{tm:g}"
    sampler = SequentialSampler(student.schedule, torch.tensor([1.0, tm, 0.0]), name=name)  # (3,) levels
    item = MenuItem(name=name, sampler=sampler, denoiser=LevelRoutedDenoiser(student.denoiser, model.denoiser, tm),
                    temperature=TEMP)
    planner = RealtimePlanner(model, [item], budget_ms=math.inf, fixed=name, anytime=False, seed=seed)
    t0 = time.perf_counter()
    res = evaluate_vector(EnvConfig(id="PushTKeypoints-v0").make, planner, episodes=100, num_envs=8, seed=seed)
    s = summarize_results(res)
    print(json.dumps({"student": student_dir, "t_m": tm, "seed": seed, "episodes": len(res),
                      "success_rate": s.get("success_rate"), "seconds": round(time.perf_counter() - t0, 1)}),
          flush=True)
