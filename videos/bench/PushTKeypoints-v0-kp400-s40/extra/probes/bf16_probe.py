"""Stop 40: batch-1 cost of the Push-T teacher's U-Net in float32 against bfloat16 weights (traced,
one thread), alone (warm) and alternating with a second network of the same size (cold, as in the
2-call pair). Prints median microseconds per call."""
import copy
import statistics
import time

import torch

from parapolicy.policies.checkpoint import load_policy
from parapolicy.policies.embedding import SinusoidalEmbedding
from parapolicy.policies.matmul_conv import swap_convs

_fwd = SinusoidalEmbedding.forward
SinusoidalEmbedding.forward = lambda self, t: _fwd(self, t).to(self.freqs.dtype)  # probe only: keep bf16

torch.set_num_threads(1)
K = "runs/pusht_kp400"
teacher = load_policy(f"{K}/checkpoint")
student = load_policy(f"{K}/student1_rho")
cfg = teacher.config
g = torch.Generator().manual_seed(0)
x = torch.randn(1, cfg.pred_horizon, cfg.action_dim, generator=g)
obs = torch.randn(1, cfg.obs_horizon, cfg.obs_dim, generator=g)
with torch.no_grad():
    cond = teacher.encode_obs(obs)
    t = teacher.example_network_time()


def traced(net, dtype):
    net = swap_convs(net.eval())[0] if dtype == torch.float32 else copy.deepcopy(net).eval()
    net = net.to(dtype)
    ex = (x.to(dtype), t if not t.is_floating_point() else t.to(dtype), cond.to(dtype))
    with torch.no_grad():
        tr = torch.jit.freeze(torch.jit.trace(net, ex, check_trace=False))
        for _ in range(20):
            tr(*ex)
    return tr, ex


def med(fn, n=400):
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts) * 1e6


with torch.no_grad():
    ref = teacher.inference_net(x, t, cond)
    for dtype in (torch.float32, torch.bfloat16):
        a, ea = traced(teacher.inference_net, dtype)
        b, eb = traced(student.inference_net, dtype)
        warm = med(lambda: a(*ea))
        pair = med(lambda: (a(*ea), b(*eb))) / 2
        err = (a(*ea).float() - ref).abs().max().item()
        print(f"{dtype}: warm {warm:.0f} us, alternating {pair:.0f} us per call, max |out - fp32 eager| {err:.2e}")
