"""Bare batch-1 cost of the teacher U-Net and the finisher variants, traced and frozen, one thread,
interleaved in 30 rounds (stop 34). Output: network_costs.out.

    MUJOCO_GL=egl .venv/bin/python videos/bench/PushTKeypoints-v0-kp400-s34/extra/probes/network_costs.py
"""
import sys, time, copy, warnings, numpy as np, torch
from parapolicy.policies.checkpoint import load_policy
from parapolicy.policies.factory import make_policy
import dataclasses
torch.set_num_threads(1); warnings.simplefilter("ignore")
K = "runs/pusht_kp400"
pol = load_policy(f"{K}/checkpoint"); pol.eval()
x = torch.randn(1, 16, 2); c = torch.randn(1, pol.config.obs_horizon*pol.config.obs_dim); t = torch.full((1,), 5.)
variants = {"teacher": {}, "mid0": {"mid_blocks": 0}, "lb1m2": {"mid_blocks": 2, "level_blocks": 1},
            "lb1m1": {"mid_blocks": 1, "level_blocks": 1}, "lb1m0": {"mid_blocks": 0, "level_blocks": 1},
            "m1": {"mid_blocks": 1}}
for extra in sys.argv[1:]:
    import json; variants[extra] = json.loads(extra)
nets = {}
for k, v in variants.items():
    cfg = dataclasses.replace(pol.config, **v)
    n = make_policy(cfg, pol.normalizer).inference_net.eval()
    with torch.no_grad():
        nets[k] = (torch.jit.freeze(torch.jit.trace(n, (x, t, c), check_trace=False)), sum(p.numel() for p in n.parameters()))
ts = {k: [] for k in nets}
with torch.no_grad():
    for k, (f, _) in nets.items():
        for _ in range(50): f(x, t, c)
    for r in range(30):
        for k, (f, _) in nets.items():
            for _ in range(20):
                a = time.perf_counter(); f(x, t, c); ts[k].append(time.perf_counter() - a)
base = np.median(ts["teacher"])
for k, v in ts.items():
    print(f"{k:40s} {nets[k][1]/1e6:.2f}M  p50 {np.median(v)*1e3:.3f} ms  {np.median(v)/base:.2f} of teacher")
