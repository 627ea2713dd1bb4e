"""(Run from the repository root with .venv/bin/python <this file> t_m [seed].)
Probe: how low must a 2-step student's middle level sit for one x0 prediction of the teacher's own
network to finish the chunk? The teacher's Euler 1 -> t_m over 30 steps (the ρ = 2 grid rescaled onto
[t_m, 1], packed toward t_m), then one Euler step t_m -> 0 (its x0 estimate); Ta = 3, T = 0.8,
100 episodes."""
import sys

import torch

from parapolicy.envs import make_env
from parapolicy.planners.vector_eval import evaluate_vector, summarize_results
from parapolicy.policies import ChunkedPolicy, load_policy

torch.set_num_threads(1)
Tch = load_policy("runs/pusht_kp400/checkpoint")
t_m = float(sys.argv[1])
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
grid = [t_m + (1 - t_m) * (1 - k / 30) ** 2 for k in range(31)] + [0.0]


class Finish:
    config = Tch.config

    @torch.no_grad()
    def predict_chunk(self, obs_history, *, sampler=None, steps=None, generator=None, temperature=1.0):
        obs, single = Tch.prepare_obs_history(obs_history)
        cond = Tch.encode_obs(obs)
        x = torch.randn((obs.shape[0], Tch.config.pred_horizon, Tch.config.action_dim), generator=generator) * 0.8
        for t, tp in zip(grid[:-1], grid[1:]):
            x = x + (tp - t) * Tch.denoiser(x, torch.full((x.shape[0],), t), cond)
        return Tch._finish(x.clamp(-1, 1), single)


runner = ChunkedPolicy(Finish(), action_horizon=3, seed=seed, temperature=0.8)
res = evaluate_vector(lambda: make_env("PushTKeypoints-v0"), runner, episodes=100, num_envs=8, seed=seed)
print(f"teacher to {t_m} over 30 steps, one step to 0, seeds {seed}: success {summarize_results(res)['success_rate']:.2f}")
