"""Frozen trace against torch.jit.optimize_for_inference on the teacher and a finisher network (stop 34).
Output: optimize_for_inference.out.

    MUJOCO_GL=egl .venv/bin/python videos/bench/PushTKeypoints-v0-kp400-s34/extra/probes/optimize_for_inference.py
"""
import os, time, copy, warnings
import numpy as np, torch
from parapolicy.planners.menu import load_students
from parapolicy.policies.checkpoint import load_policy
torch.set_num_threads(1)
warnings.simplefilter("ignore")
K = "runs/pusht_kp400"
pol = load_policy(f"{K}/checkpoint"); pol.eval()
studs = load_students([f"{K}/student2_fin_mid0"], pol)
s2 = list(studs.values())[0]
x = torch.randn(1, 16, 2); c = torch.randn(1, pol.config.obs_horizon*pol.config.obs_dim)
nets = {"teacher": (pol.inference_net, torch.full((1,),100.)), "fin": (s2.inference_net.experts[1], torch.full((1,),5.))}
res = {}
with torch.no_grad():
    for name, (n, t) in nets.items():
        n = copy.deepcopy(n).eval()
        tr = torch.jit.freeze(torch.jit.trace(n, (x, t, c), check_trace=False))
        o = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(copy.deepcopy(n), (x, t, c), check_trace=False)))
        print(name, "maxdiff", float((tr(x,t,c)-o(x,t,c)).abs().max()))
        for k, f in (("frozen", tr), ("ofi", o)):
            for _ in range(20): f(x,t,c)
        ts = {"frozen": [], "ofi": []}
        for r in range(20):
            for k, f in (("frozen", tr), ("ofi", o)):
                for _ in range(20):
                    a = time.perf_counter(); f(x,t,c); ts[k].append(time.perf_counter()-a)
        print(name, {k: round(float(np.median(v))*1e3, 3) for k, v in ts.items()})
