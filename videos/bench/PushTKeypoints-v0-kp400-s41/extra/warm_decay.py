"""stop 41: how a traced teacher call's time falls over a run of calls after a cold one.

The cost model's warm cost was the mean of the 8 calls after a cold call (then cost_model.cold_and_warm). The
bench's flow-100 chain runs at 0.68-0.73 ms per step (overhead included) while that warm cost came out
at 0.70-0.86 ms over eight bench processes. This times, in the bench's interleaved pattern (each round:
batch sizes 1..32, a cold call then 16 more at the size), every call position at batch 1 and prints
the trimmed mean per position. One thread, alone on the CPU.
usage: python warm_decay.py runs/pusht_kp400/checkpoint
"""
import statistics
import sys

import torch

from parapolicy.planners.cost_model import _real_timing
from parapolicy.policies import load_policy

torch.set_num_threads(1)
pol = load_policy(sys.argv[1]).eval().trace_inference()
cond_dim = int(pol.encode_obs(torch.zeros(1, pol.config.obs_horizon, pol.config.obs_dim)).shape[-1])
timing = _real_timing(pol.denoiser, (pol.config.pred_horizon, pol.config.action_dim), cond_dim, 0.0, "cpu")
K, ROUNDS = 17, 40
pos: list[list[float]] = [[] for _ in range(K)]
for r in range(ROUNDS + 3):
    for n in (1, 2, 4, 8, 16, 32):
        times = [timing(n) for _ in range(K)]
        if n == 1 and r >= 3:
            for i, t in enumerate(times):
                pos[i].append(t)
trim = [statistics.fmean(sorted(v)[: int(len(v) * 0.95)]) * 1e3 for v in pos]
print("call after the cold one:", " ".join(f"{i}:{t:.3f}" for i, t in enumerate(trim)))
print(f"mean of calls 1-8 (the cost model's warm): {statistics.fmean(trim[1:9]):.3f} ms; "
      f"calls 5-8: {statistics.fmean(trim[5:9]):.3f}; calls 9-16: {statistics.fmean(trim[9:17]):.3f}")
