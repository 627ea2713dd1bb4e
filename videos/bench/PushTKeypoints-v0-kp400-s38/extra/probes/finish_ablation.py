"""What in the teacher's one finishing call lifts the 1-step draft (stop 38).

The pair `draft-student1-flow1-at0.05` ends with x = x_tm − t_m·v_teacher(x_tm), where
x_tm = t_m·x1 + (1 − t_m)·x̂0 is the draft x̂0 re-noised with the chain's own initial sample x1
(= T·z). That result differs from the draft in three ways: it is shrunk by (1 − t_m), it keeps
a little of x1, and the teacher's network moves it. Each variant below replaces the teacher's
call by a closed form, so the three can be told apart:

    draft   x̂0                         (the 1-step student alone)
    shrink  (1 − t_m)·x̂0
    dither  x̂0 + t_m·x1
    renoise x_tm = t_m·x1 + (1 − t_m)·x̂0   (the teacher's velocity set to 0)
    teacher x_tm − t_m·v_teacher(x_tm)     (the pair itself)

Ta = 3, T = 0.8, 100 episodes on 8 envs per seed set, traced networks, one thread.

    MUJOCO_GL=egl .venv/bin/python videos/bench/PushTKeypoints-v0-kp400-s38/extra/probes/finish_ablation.py \
        runs/pusht_kp400/student1_rho 100000,300000,500000 draft,shrink,dither,renoise,teacher
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
from parapolicy.planners.vector_eval import evaluate_vector, summarize_results
from parapolicy.policies.checkpoint import load_policy
from parapolicy.scripts.common import EnvConfig

torch.set_num_threads(1)
K, TA, TEMP, TM = "runs/pusht_kp400", 3, 0.8, 0.05
student_dir = sys.argv[1]
seeds = [int(s) for s in sys.argv[2].split(",")]
variants = sys.argv[3].split(",")
pol = load_policy(f"{K}/checkpoint").eval().trace_inference()
studs = load_students([student_dir], pol)
student = studs[1].eval().trace_inference()


class Finish:
    """Student at t = 1 (remembering x1 and x̂0), then the variant's closed form at t = t_m."""

    def __init__(self, variant: str, teacher) -> None:
        self.variant, self.teacher = variant, teacher
        self.x1 = self.x0 = None

    def __call__(self, x, t, cond):
        if float(t[0]) > 0.5:  # the student's call from x1 (t = 1; t_m is a float32 0.05)
            v = student.denoiser(x, t, cond)  # (B, H, Da) velocity
            self.x1, self.x0 = x, x - v  # x̂0 = x1 − 1·v
            return v
        x0, x1 = self.x0, self.x1
        if self.variant == "teacher":
            return self.teacher(x, t, cond)
        want = {"draft": x0, "shrink": (1 - TM) * x0, "dither": x0 + TM * x1,
                "renoise": x}[self.variant]  # (B, H, Da)
        return (x - want) / TM  # the Euler step x − t_m·v lands on ``want``


for seed in seeds:
    ctx = make_context(pol, student=studs, seed=seed)
    model = dataclasses.replace(ctx.model, action_horizon=TA)
    for var in variants:
        sampler = SequentialSampler(student.schedule, torch.tensor([1.0, TM, 0.0]), name=var)  # (3,) levels
        item = MenuItem(name=var, sampler=sampler, denoiser=Finish(var, model.denoiser), temperature=TEMP)
        planner = RealtimePlanner(model, [item], budget_ms=math.inf, fixed=var, anytime=False, seed=seed)
        t0 = time.perf_counter()
        res = evaluate_vector(EnvConfig(id="PushTKeypoints-v0").make, planner, episodes=100, num_envs=8, seed=seed)
        s = summarize_results(res)
        print(json.dumps({"student": student_dir, "variant": var, "seed": seed, "episodes": len(res),
                          "success_rate": s.get("success_rate"), "seconds": round(time.perf_counter() - t0, 1)}),
              flush=True)
