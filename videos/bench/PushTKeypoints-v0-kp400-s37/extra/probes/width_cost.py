"""Batch-1 cost of wider or deeper U-Nets than the Push-T keypoint teacher's (stop 37).

Traced and frozen like the bench's networks (jit=true), one thread, 50 warm-up and 400 timed calls,
the median in ms, two rounds. Obs features 36 (To = 2 × 18), chunk 16 × 2, as the 400-demo teacher.

    MUJOCO_GL=egl .venv/bin/python videos/bench/PushTKeypoints-v0-kp400-s37/extra/probes/width_cost.py
"""
import statistics
import time

import torch

from parapolicy.policies.unet1d import ConditionalUnet1D

torch.set_num_threads(1)


def cost(**kw) -> tuple[float, int]:
    net = ConditionalUnet1D(2, 36, **kw).eval()
    x, t, c = torch.randn(1, 16, 2), torch.tensor([0.5]), torch.randn(1, 36)
    with torch.no_grad():
        traced = torch.jit.freeze(torch.jit.trace(net, (x, t, c)))
        for _ in range(50):
            traced(x, t, c)
        times = []
        for _ in range(400):
            a = time.perf_counter()
            traced(x, t, c)
            times.append(time.perf_counter() - a)
    return statistics.median(times) * 1e3, sum(p.numel() for p in net.parameters())


configs = [dict(), dict(down_dims=(48, 96, 192)), dict(down_dims=(64, 128, 256)), dict(mid_blocks=4),
           dict(mid_blocks=6), dict(mid_blocks=8)]
for r in range(2):
    for kw in configs:
        ms, n = cost(**kw)
        print(f"round {r}: {kw or 'the teacher'}: {ms:.3f} ms, {n} parameters", flush=True)
