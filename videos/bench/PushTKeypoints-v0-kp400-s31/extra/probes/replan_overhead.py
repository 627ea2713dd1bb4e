"""Where a batch-1 replan's time goes outside the network calls (traced networks, one thread; stop 31).

The host's speed drifts within seconds, so the four measurements are interleaved in rounds (20 bare
network calls, 20 replans of the 1-step student, 20 of the teacher's own 2 Euler steps, 2 of flow-100)
and each is summarised by its median over all rounds; the ratio flow-100 ÷ flow-2 is what a 2-step
student on the teacher's network can reach at best.

    MUJOCO_GL=egl .venv/bin/python videos/bench/PushTKeypoints-v0-kp400-s31/extra/probes/replan_overhead.py
"""
import json
import os
import time

os.environ.setdefault("MUJOCO_GL", "egl")
import numpy as np
import torch

from parapolicy.planners.menu import build_planner, load_students
from parapolicy.policies.checkpoint import load_policy

torch.set_num_threads(1)
K, ROUNDS = "runs/pusht_kp400", 30
pol = load_policy(f"{K}/checkpoint")
pol.eval()
pol.trace_inference()
studs = load_students([f"{K}/student1_op"], pol)
for s in studs.values():
    s.eval()
    s.trace_inference()
obs = (np.random.default_rng(0).normal(size=(1, pol.obs_horizon, pol.config.obs_dim)) * 50 + 256).astype(np.float32)
planners = {spec: build_planner(pol, planner="chunked", menu=[spec], student=studs)
            for spec in ("student1-t0.8", "flow2-t0.8", "flow100-t0.8")}
net = pol.inference_call
x = torch.randn(1, pol.pred_horizon, pol.config.action_dim)
t = torch.zeros(1)
c = pol.encode_obs(torch.as_tensor(obs))
times: dict[str, list[float]] = {"net call": [], **{k: [] for k in planners}}
for p in planners.values():  # warm-up
    for _ in range(3):
        p.plan_chunk(obs, item=p.menu[0])
with torch.no_grad():
    for _ in range(ROUNDS):
        for _ in range(20):
            a = time.perf_counter()
            net(x, t, c)
            times["net call"].append(time.perf_counter() - a)
        for spec, n in (("student1-t0.8", 20), ("flow2-t0.8", 20), ("flow100-t0.8", 2)):
            p = planners[spec]
            for _ in range(n):
                times[spec].append(p.plan_chunk(obs, item=p.menu[0]).latency_s)
med = {k: float(np.median(v) * 1e3) for k, v in times.items()}
for k, v in med.items():
    print(f"{k}: p50 {v:.3f} ms over {len(times[k])}")
print(f"flow-100 / flow-2 {med['flow100-t0.8'] / med['flow2-t0.8']:.1f}x; flow-100 / student1 "
      f"{med['flow100-t0.8'] / med['student1-t0.8']:.1f}x; flow-2 outside its two calls "
      f"{med['flow2-t0.8'] - 2 * med['net call']:.3f} ms; flow-100 / (2 bare calls) "
      f"{med['flow100-t0.8'] / (2 * med['net call']):.1f}x")
print(json.dumps(med))
