"""Stop 30 probe: where the first in-loop replan of a fresh process spends its time.

Builds the synchronous planner of the stop-29/30 real-time runs (traced kp400 teacher and its 1-step
student, menu [flow100, AB2-8, AB2-6, AB2-5, student1] at T = 0.8, 16 ms budget, s = 3), plans the
first chunk at reset (outside any control loop, as the bench does), then times each act() of the
next 12 steps next to the replan latency the planner records. With ``prof`` it profiles step 3, the
first replan inside the loop. Run from the repository root:

    MUJOCO_GL=egl python videos/bench/PushTKeypoints-v0-kp400-s30/extra/probes/first_replan.py [prof]
"""
import cProfile
import gc
import os
import pstats
import sys
import time

os.environ.setdefault("MUJOCO_GL", "egl")
import torch  # noqa: E402

from parapolicy.envs import make_env  # noqa: E402
from parapolicy.planners.menu import build_planner, load_students  # noqa: E402
from parapolicy.policies import load_policy  # noqa: E402

torch.set_num_threads(1)
policy = load_policy("runs/pusht_kp400/checkpoint").eval().trace_inference()
students = load_students(["runs/pusht_kp400/student1_op"], policy)
menu = ["flow100-t0.8", "flow8-rho2.5-ab2-t0.8", "flow6-rho2.5-ab2-t0.8", "flow5-rho2-ab2-t0.8", "student1-t0.8"]
planner = build_planner(policy, planner="realtime", menu=menu, budget_ms=16, control_hz=50, student=students,
                        seed=300000, execute_every=3, cost_cache_dir="/tmp/first_replan_cost_cache")
env = make_env("PushTKeypoints-v0")
obs, _ = env.reset(seed=300000)
planner.reset(seed=300000)
gc.disable()
action = planner.act(obs)  # the first plan (with the menu's calibration runs), before the clock starts
for step in range(1, 13):
    obs, *_ = env.step(action)
    prof = cProfile.Profile() if step == 3 and "prof" in sys.argv else None
    if prof:
        prof.enable()
    t0 = time.perf_counter()
    action = planner.act(obs)
    act_ms = (time.perf_counter() - t0) * 1e3
    if prof:
        prof.disable()
    rec = planner.records[-1]
    print(f"step {step}: act {act_ms:.1f} ms; last replan {rec.name} {rec.latency_s * 1e3:.1f} ms "
          f"(replans so far {len(planner.records)})")
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(12)
