"""(Run from the repository root with .venv/bin/python <this file> <student dir> K [seed].)
Probe: can the teacher's own network finish a 2-step student's work from its middle level t_m in K
Euler steps? The student's first step 1 -> t_m, then the teacher's Euler t_m -> 0 over K steps placed
at t_m·(1 - k/K)^2; Ta = 3, T = 0.8, 100 episodes. K = 1 is a 2-call sampler."""
import sys

import torch

from parapolicy.envs import make_env
from parapolicy.planners.vector_eval import evaluate_vector, summarize_results
from parapolicy.policies import ChunkedPolicy, load_policy

torch.set_num_threads(1)
S = load_policy(sys.argv[1])
Tch = load_policy("runs/pusht_kp400/checkpoint")
K = int(sys.argv[2])
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 100000
t_m = float(S.config.timesteps[1])


def euler(net, x, cond, grid):
    for t, tp in zip(grid[:-1], grid[1:]):
        x = x + (tp - t) * net(x, torch.full((x.shape[0],), t), cond)
    return x


class Hybrid:
    config = S.config

    @torch.no_grad()
    def predict_chunk(self, obs_history, *, sampler=None, steps=None, generator=None, temperature=1.0):
        obs, single = S.prepare_obs_history(obs_history)
        cond = S.encode_obs(obs)
        x = torch.randn((obs.shape[0], S.config.pred_horizon, S.config.action_dim), generator=generator) * 0.8
        x = euler(S.denoiser, x, cond, [1.0, t_m])
        x = euler(Tch.denoiser, x, Tch.encode_obs(obs), [t_m * (1 - k / K) ** 2 for k in range(K + 1)])
        return S._finish(x.clamp(-1, 1), single)


runner = ChunkedPolicy(Hybrid(), action_horizon=3, seed=seed, temperature=0.8)
res = evaluate_vector(lambda: make_env("PushTKeypoints-v0"), runner, episodes=100, num_envs=8, seed=seed)
print(f"{sys.argv[1]} first step to {t_m}, teacher Euler x{K} to 0, seeds {seed}: "
      f"success {summarize_results(res)['success_rate']:.2f}")
