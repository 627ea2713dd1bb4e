"""Probe (run from the repository root with .venv/bin/python <this file>): what one denoiser call costs
on this CPU (one torch thread, inference mode) for the Push-T keypoint teacher's U-Net and the cheaper
student networks `parapolicy-distill student_net=…` can build, at batch 1 and 8 (p50 of 300 calls
after 20 warm-up calls). Obs 18-dim × 2 frames, chunk 16 × 2, as the 400-demo keypoint model.
"""
import statistics
import time

import torch

from parapolicy.policies.config import PolicyConfig
from parapolicy.policies.networks import count_parameters, make_network

torch.set_num_threads(1)


def p50_ms(net, batch):
    x, t, c = torch.randn(batch, 16, 2), torch.full((batch,), 50.0), torch.randn(batch, 36)
    with torch.inference_mode():
        for _ in range(20):
            net(x, t, c)
        times = []
        for _ in range(300):
            tic = time.perf_counter()
            net(x, t, c)
            times.append(time.perf_counter() - tic)
    return statistics.median(times) * 1e3


for fields in ({}, {"mid_blocks": 1}, {"mid_blocks": 0}, {"down_dims": (16, 32, 64)}, {"down_dims": (32, 64)},
               {"denoiser": "mlp", "mlp_width": 256, "mlp_blocks": 3}, {"denoiser": "mlp", "mlp_width": 512, "mlp_blocks": 3}):
    net = make_network(PolicyConfig(obs_dim=18, action_dim=2, objective="flow", **fields)).eval()
    print(f"{fields or 'teacher U-Net'}: {count_parameters(net) / 1e6:.2f} M parameters, batch 1 {p50_ms(net, 1):.2f} ms, "
          f"batch 8 {p50_ms(net, 8):.2f} ms", flush=True)
