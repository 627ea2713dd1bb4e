"""(Run from the repository root with .venv/bin/python <this file> <student dir> <mode>.)
Probe: which of the 2-step student's steps loses success. 'first': student 1 -> 0.5, then the teacher's
Euler over 50 steps 0.5 -> 0; 'second': the teacher's 50 steps 1 -> 0.5, then the student's step."""
import sys, torch
from parapolicy.policies import load_policy, ChunkedPolicy
from parapolicy.planners.vector_eval import evaluate_vector, summarize_results
from parapolicy.envs import make_env
torch.set_num_threads(1)
S = load_policy(sys.argv[1]); Tch = load_policy('runs/pusht_kp400/checkpoint'); mode = sys.argv[2]

def euler(net, x, cond, grid):
    B = x.shape[0]
    for t, tp in zip(grid[:-1], grid[1:]):
        x = x + (tp - t) * net(x, torch.full((B,), t), cond)
    return x

class P:
    config = S.config
    @torch.no_grad()
    def predict_chunk(self, obs_history, *, sampler=None, steps=None, generator=None, temperature=1.0):
        obs, single = S.prepare_obs_history(obs_history)
        cond = S.encode_obs(obs)
        x = torch.randn((obs.shape[0], 16, 2), generator=generator) * 0.8
        fine = torch.linspace(1, 0, 101).tolist()
        if mode == 'first':
            x = euler(S.denoiser, x, cond, [1.0, 0.5])
            x = euler(Tch.denoiser, x, cond, fine[50:])
        else:
            x = euler(Tch.denoiser, x, cond, fine[:51])
            x = euler(S.denoiser, x, cond, [0.5, 0.0])
        return S._finish(x.clamp(-1, 1), single)

runner = ChunkedPolicy(P(), action_horizon=3, seed=100000, temperature=0.8)
res = evaluate_vector(lambda: make_env('PushTKeypoints-v0'), runner, episodes=100, num_envs=8, seed=100000)
print(mode, summarize_results(res)['success_rate'])
