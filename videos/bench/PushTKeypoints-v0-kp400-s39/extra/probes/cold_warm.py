"""Stop 39 probe: how much a traced U-Net call costs when the caches are cold and as a chain warms.

    python videos/bench/PushTKeypoints-v0-kp400-s39/extra/probes/cold_warm.py   (one thread; output: cold_warm.out)

For the library and the matrix-product convolutions (``trace_network(matmul_convs=)``), the median
batch-1 call: alone (a run of calls), right after a batch-32 call, and after a 16 MB copy (a cache
flush). Then, for the policy's traced denoiser, the median time of calls 1–10 of a batch-1 chain
that follows a batch-32 call or a cache flush.
"""
import statistics
import time

import torch

from parapolicy.policies.checkpoint import load_policy
from parapolicy.policies.traced import trace_network

torch.set_num_threads(1)
policy = load_policy("runs/pusht_kp400/checkpoint").eval()
net = policy.inference_net
ex = (torch.randn(1, 16, 2), torch.ones(1), torch.randn(1, 36))
big, big2 = torch.randn(4_000_000), torch.empty(4_000_000)


def inputs(b: int):
    return torch.randn(b, 16, 2), torch.rand(b), torch.randn(b, 36)


with torch.no_grad():
    for mm in (False, True):
        tr = trace_network(net, ex, matmul_convs=mm)
        for _ in range(50):
            tr(*ex)
        res = {}
        for mode in ("alone", "after batch 32", "after a cache flush"):
            ts = []
            for _ in range(80):
                if mode == "after batch 32":
                    tr(*inputs(32))
                elif mode == "after a cache flush":
                    big2.copy_(big)
                a = inputs(1)
                t0 = time.perf_counter()
                tr(*a)
                ts.append(time.perf_counter() - t0)
            res[mode] = statistics.median(ts[10:]) * 1e3
        print(f"matmul_convs={mm}: " + ", ".join(f"{k} {v:.3f} ms" for k, v in res.items()))
    policy.trace_inference()
    for before in ("batch 32", "cache flush"):
        pos = [[] for _ in range(10)]
        for _ in range(60):
            if before == "batch 32":
                policy.denoiser(*inputs(32))
            else:
                big2.copy_(big)
            for i in range(10):
                a = inputs(1)
                t0 = time.perf_counter()
                policy.denoiser(*a)
                pos[i].append(time.perf_counter() - t0)
        print(f"chain calls 1-10 after a {before} (ms): " + " ".join(f"{statistics.median(v[5:]) * 1e3:.3f}" for v in pos))
