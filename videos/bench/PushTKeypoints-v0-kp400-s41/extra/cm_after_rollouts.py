"""stop 41: the bench's cost-model measurement of the traced teacher before and after 8 Push-T episodes
(flow-10, Ta = 3, 8 envs) in one process, to see whether rollouts slow the timing loop. One thread, alone.
usage: python cm_after_rollouts.py  (reads runs/pusht_kp400/checkpoint)
"""
import torch, gymnasium as gym
import parapolicy.envs  # registers
from parapolicy.policies import load_policy
from parapolicy.policies.runner import ChunkedPolicy
from parapolicy.planners.vector_eval import evaluate_vector
from parapolicy.scripts.bench import measure_cost_model
torch.set_num_threads(1)
pol = load_policy("runs/pusht_kp400/checkpoint").eval().trace_inference()
cond_dim = int(pol.encode_obs(torch.zeros(1, pol.config.obs_horizon, pol.config.obs_dim)).shape[-1])
def m(tag):
    cm = measure_cost_model(pol.denoiser, (pol.config.pred_horizon, pol.config.action_dim), cond_dim, rounds=30)
    print(tag, "cold %.3f warm %.3f steady %.3f" % (cm.latency_s[1]*1e3, cm.warm_latency_s[1]*1e3, cm.steady_latency_s[1]*1e3), flush=True)
m("before")
runner = ChunkedPolicy(pol, action_horizon=3, steps=10)
res = evaluate_vector(lambda: gym.make("parapolicy/PushTKeypoints-v0"), runner, episodes=8, num_envs=8, seed=100000, use_async=False)
print("episodes", len(res), flush=True)
m("after rollouts")
import gc; gc.collect()
m("after gc")
