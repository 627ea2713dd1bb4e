"""Which phase of a Push-T episode does the 1-step student lose? (stop 32)

Each episode runs one sampler until the T's coverage of the goal first reaches THETA, then another
until the end: student → teacher finds out whether the student's fine positioning at the end is
the gap, teacher → student whether its approach is. Single environment, Ta = 3, T = 0.8, seeds
100000 … 100099 (the bench's first seed set); the pure samplers are run in the same loop for reference.

    MUJOCO_GL=egl .venv/bin/python videos/bench/PushTKeypoints-v0-kp400-s32/extra/probes/phase_switch.py \
        runs/pusht_kp400/student1_op student,teacher 0.8
"""
import json
import os
import sys
import time

os.environ.setdefault("MUJOCO_GL", "egl")
import numpy as np
import torch

from parapolicy.planners.menu import build_planner, load_students
from parapolicy.policies.checkpoint import load_policy
from parapolicy.scripts.common import EnvConfig

torch.set_num_threads(1)
K, SEED, EPISODES, TA = "runs/pusht_kp400", 100000, 100, 3
student_dir, pair, theta = sys.argv[1], sys.argv[2].split(","), float(sys.argv[3])
pol = load_policy(f"{K}/checkpoint")
studs = load_students([student_dir], pol)
planners = {"student": build_planner(pol, planner="chunked", menu=["student1-t0.8"], student=studs, execute_every=TA),
            "teacher": build_planner(pol, planner="chunked", menu=["flow4-rho2-ab2-t0.8"], execute_every=TA)}
first, second = planners[pair[0]], planners[pair[1]]
env = EnvConfig(id="PushTKeypoints-v0").make()
To, o = pol.obs_horizon, first.model.action_offset
wins, switched, second_share = [], [], []
t0 = time.perf_counter()
for ep in range(EPISODES):
    seed = SEED + ep
    for p in planners.values():
        p.reset(seed=seed)
    obs, info = env.reset(seed=seed)
    hist, queue, cov, ok, late, total = [obs] * To, [], 0.0, False, 0, 0
    done = False
    while not done:
        if not queue:
            p = first if cov < theta else second
            late += p is second
            total += 1
            plan = p.plan_chunk(np.stack(hist)[None].astype(np.float32), item=p.menu[0])  # (1, To, Do)
            queue = list(plan.actions[0, o:o + TA])  # Ta actions (Da,)
        obs, _, term, trunc, info = env.step(queue.pop(0))
        hist = hist[1:] + [obs]
        cov = float(info.get("coverage", 0.0))
        ok = ok or bool(info.get("is_success", False))
        done = term or trunc
    wins.append(ok)
    second_share.append(late / total)
env.close()
out = {"student": student_dir, "first": pair[0], "second": pair[1], "theta": theta, "episodes": EPISODES,
       "seed": SEED, "success_rate": float(np.mean(wins)), "second_replan_share": float(np.mean(second_share)),
       "seconds": time.perf_counter() - t0}
print(json.dumps(out))
