"""Probe (run from the repository root with .venv/bin/python <this file> FIRST SECOND [SEED …]):
does a 2-step student's first step survive a cheaper network? The loss was traced to the last step
(student_teacher_hybrid.py: the student's first step followed by the teacher's Euler scores above the
teacher). Here the first step (noise at T = 0.8 → the middle level) is made by student FIRST's network
and the second by student SECOND's, both 2-step students on the same levels; each of the given seed
sets gets 100 episodes at Ta = 3, and the same planner is timed at batch 1 (p50 over 300 replans).
Either name may be ``checkpoint``: the teacher's own network makes that step, at the other's levels
(the teacher's network for both steps runs at levels 1 → 0.15 → 0, the control student's).
"""
import statistics
import sys
import time

import torch

from parapolicy.envs import make_env
from parapolicy.planners.vector_eval import evaluate_vector, summarize_results
from parapolicy.policies import ChunkedPolicy, load_policy

torch.set_num_threads(1)
A = load_policy(f"runs/pusht_kp400/{sys.argv[1]}")
B = load_policy(f"runs/pusht_kp400/{sys.argv[2]}")
levels = [p.config.timesteps for p in (A, B) if p.config.timesteps is not None] or [[1.0, 0.15, 0.0]]
assert all(lv == levels[0] for lv in levels), levels
t0, t_m = (float(t) for t in levels[0][:2])
seeds = [int(a) for a in sys.argv[3:]] or [100000]


def euler(net, x, cond, t, tp):
    return x + (tp - t) * net(x, torch.full((x.shape[0],), t), cond)


class TwoNet:
    config = B.config

    @torch.no_grad()
    def predict_chunk(self, obs_history, *, sampler=None, steps=None, generator=None, temperature=1.0):
        obs, single = B.prepare_obs_history(obs_history)
        x = torch.randn((obs.shape[0], B.config.pred_horizon, B.config.action_dim), generator=generator) * 0.8
        cond = B.encode_obs(obs)  # both students share the teacher's normalizer and observation encoding
        x = euler(A.denoiser, x, cond, t0, t_m)
        x = euler(B.denoiser, x, cond, t_m, 0.0)
        return B._finish(x.clamp(-1, 1), single)


rows = [(f"{sys.argv[1]} first step + {sys.argv[2]} last step", TwoNet())]
if B.config.timesteps is not None:
    rows.append((f"{sys.argv[2]} alone", B))
for name, pred in rows:
    obs = torch.zeros(B.config.obs_horizon, B.config.obs_dim).numpy()
    for _ in range(30):
        pred.predict_chunk(obs)
    lat = []
    for _ in range(300):
        tic = time.perf_counter()
        pred.predict_chunk(obs)
        lat.append(time.perf_counter() - tic)
    for seed in seeds:
        runner = ChunkedPolicy(pred, action_horizon=3, seed=seed, temperature=0.8)
        res = evaluate_vector(lambda: make_env("PushTKeypoints-v0"), runner, episodes=100, num_envs=8, seed=seed)
        s = summarize_results(res)
        print(f"seed {seed}: {name}: success {s['success_rate']:.2f}, batch-1 p50 "
              f"{statistics.median(lat) * 1e3:.2f} ms", flush=True)
