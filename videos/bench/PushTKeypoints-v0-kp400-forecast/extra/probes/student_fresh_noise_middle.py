"""(Run from the repository root with .venv/bin/python <this file> <student dir> <mode>.)
Probe: the 2-step student sampled with a fresh-noise middle step (consistency-model style multistep)
against its deterministic Euler step, 100 episodes at Ta=3, T=0.8, bench seeds."""
import sys, torch, numpy as np
from parapolicy.policies import load_policy, ChunkedPolicy
from parapolicy.planners.vector_eval import evaluate_vector, summarize_results
from parapolicy.envs import make_env
torch.set_num_threads(1)
S = load_policy(sys.argv[1]); mode = sys.argv[2]; T = 0.8

class P:
    config = S.config
    @torch.no_grad()
    def predict_chunk(self, obs_history, *, sampler=None, steps=None, generator=None, temperature=1.0):
        obs, single = S.prepare_obs_history(obs_history)
        B = obs.shape[0]
        cond = S.encode_obs(obs)
        x = torch.randn((B, 16, 2), generator=generator) * T
        ts = S.timesteps.tolist()  # [1, 0.5, 0]
        for i, (t, tp) in enumerate(zip(ts[:-1], ts[1:])):
            tb = torch.full((B,), t)
            v = S.denoiser(x, tb, cond)  # flow velocity
            x0 = (x - t * v).clamp(-1, 1)
            if tp == 0:
                x = x0; break
            if mode == 'det':
                x = x + (tp - t) * v
            else:  # fresh noise at the middle level
                x = (1 - tp) * x0 + tp * torch.randn((B, 16, 2), generator=generator) * T
        return S._finish(x, single)

runner = ChunkedPolicy(P(), action_horizon=3, seed=100000, temperature=0.8)
res = evaluate_vector(lambda: make_env('PushTKeypoints-v0'), runner, episodes=100, num_envs=8, seed=100000)
print(mode, summarize_results(res)['success_rate'])
