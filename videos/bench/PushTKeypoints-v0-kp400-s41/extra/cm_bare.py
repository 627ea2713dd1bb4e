"""stop 41: the bench's own cost-model measurement (scripts/bench.measure_cost_model, 30 rounds) of the traced
teacher, twice, in a bare process (no environments, no rollouts before it), to compare with the values a
bench process measured (extra/cost_model/cm41_*.json). One thread, alone on the CPU.
usage: python cm_bare.py  (reads runs/pusht_kp400/checkpoint)
"""
import sys, torch
from parapolicy.policies import load_policy
from parapolicy.scripts.bench import measure_cost_model
torch.set_num_threads(1)
pol = load_policy("runs/pusht_kp400/checkpoint").eval().trace_inference()
cond_dim = int(pol.encode_obs(torch.zeros(1, pol.config.obs_horizon, pol.config.obs_dim)).shape[-1])
for i in range(2):
    cm = measure_cost_model(pol.denoiser, (pol.config.pred_horizon, pol.config.action_dim), cond_dim, rounds=30)
    print("cold %.3f warm %.3f steady %.3f" % (cm.latency_s[1]*1e3, cm.warm_latency_s[1]*1e3, cm.steady_latency_s[1]*1e3), flush=True)
