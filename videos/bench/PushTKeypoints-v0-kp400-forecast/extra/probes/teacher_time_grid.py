"""Probe (run from the repository root with .venv/bin/python <this file> uniform|dense0|dense1 K): the teacher's
Euler over K steps on a uniform grid, on u² (dense toward the data end, t = 0) or on 1 - (1 - u)² (dense toward
the noise end), 100 episodes at Ta = 3, T = 0.8 on seeds 100000…: where does its ODE bend?"""
import sys, torch
from parapolicy.policies import load_policy, ChunkedPolicy
from parapolicy.planners.vector_eval import evaluate_vector, summarize_results
from parapolicy.envs import make_env
torch.set_num_threads(1)
Tch = load_policy('runs/pusht_kp400/checkpoint'); mode = sys.argv[1]; K = int(sys.argv[2])
u = torch.linspace(1, 0, K + 1)
grid = {'uniform': u, 'dense0': u ** 2, 'dense1': 1 - (1 - u) ** 2}[mode].tolist()

class P:
    config = Tch.config
    @torch.no_grad()
    def predict_chunk(self, obs_history, *, sampler=None, steps=None, generator=None, temperature=1.0):
        obs, single = Tch.prepare_obs_history(obs_history)
        cond = Tch.encode_obs(obs)
        x = torch.randn((obs.shape[0], 16, 2), generator=generator) * 0.8
        B = x.shape[0]
        for t, tp in zip(grid[:-1], grid[1:]):
            x = x + (tp - t) * Tch.denoiser(x, torch.full((B,), t), cond)
        return Tch._finish(x.clamp(-1, 1), single)

runner = ChunkedPolicy(P(), action_horizon=3, seed=100000, temperature=0.8)
res = evaluate_vector(lambda: make_env('PushTKeypoints-v0'), runner, episodes=100, num_envs=8, seed=100000)
print(mode, K, summarize_results(res)['success_rate'], [round(g, 3) for g in grid])
