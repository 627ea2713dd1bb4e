"""Probe (run from the repository root with .venv/bin/python <this file> STUDENT BANK_STUDENT STEPS OUT INIT [SEED …]):
is a 2-step student's weak last step a matter of capacity shared between its two levels? A copy of
STUDENT (INIT=student) or of the teacher (INIT=teacher) is fine-tuned for STEPS AdamW steps (batch 512, lr 3e-4) on the last-step rows only (from
the teacher's state at the middle level to its endpoint) of BANK_STUDENT's saved bank. Then two
samplers are benched on seeds 100000… and 300000… (100 episodes each, Ta = 3, T = 0.8): STUDENT's
first step followed by the specialist's last step (two networks, still 2 calls), and STUDENT alone.
The specialist's inference weights are saved to OUT.safetensors; when that file exists it is loaded
instead of trained. SEEDs: the evaluation seed sets (default 100000 300000).
"""
import os
import sys
import time

import torch

from safetensors.torch import load_file, save_file

from parapolicy.envs import make_env
from parapolicy.planners.student import StudentFit
from parapolicy.planners.vector_eval import evaluate_vector, summarize_results
from parapolicy.policies import ChunkedPolicy, load_policy
from parapolicy.scripts.distill import read_bank

torch.set_num_threads(2)
S = load_policy(f"runs/pusht_kp400/{sys.argv[1]}")
T = load_policy("runs/pusht_kp400/checkpoint")
steps = int(sys.argv[3])
t0, t_m = (float(t) for t in S.config.timesteps[:2])

out = sys.argv[4] + ".safetensors"
seeds = [int(a) for a in sys.argv[6:]] or [100000, 300000]
fit = StudentFit(T, 2, teacher_steps=20, teacher_time_power=2.0, temperature=0.8, init=S if sys.argv[5] == "student" else None, batch_size=512,
                 lr=3e-4, action_horizon=3, seed=1, inner_levels=[t_m])
if os.path.exists(out):
    fit.student.inference_net.load_state_dict(load_file(out))
else:
    tensors, meta = read_bank(f"runs/pusht_kp400/{sys.argv[2]}")
    fit.load_bank(tensors, meta)
    # keep only the last step: the bank's states from the middle level on, one student level pair
    fit.N, fit.student_ts = 1, fit.student_ts[1:]
    fit.states, fit.targets = fit.states[1:], fit.targets[1:]
    fit._loss_w = torch.ones(1)
    tic = time.perf_counter()
    losses = fit.train(steps)
    print(f"specialist: {steps} steps on {fit.bank_size} histories in {time.perf_counter() - tic:.0f} s, "
          f"loss {sum(losses[:50]) / 50:.5f} -> {sum(losses[-50:]) / 50:.5f}", flush=True)
    save_file({k: v.contiguous() for k, v in fit.student.inference_net.state_dict().items()}, out)
B = fit.student


def euler(net, x, cond, grid):
    for t, tp in zip(grid[:-1], grid[1:]):
        x = x + (tp - t) * net(x, torch.full((x.shape[0],), t), cond)
    return x


class TwoNet:
    config = S.config

    @torch.no_grad()
    def predict_chunk(self, obs_history, *, sampler=None, steps=None, generator=None, temperature=1.0):
        obs, single = S.prepare_obs_history(obs_history)
        x = torch.randn((obs.shape[0], S.config.pred_horizon, S.config.action_dim), generator=generator) * 0.8
        x = euler(S.denoiser, x, S.encode_obs(obs), [t0, t_m])
        x = euler(B.denoiser, x, B.encode_obs(obs), [t_m, 0.0])
        return S._finish(x.clamp(-1, 1), single)


torch.set_num_threads(1)
for seed in seeds:
    for name, pred in (("first step + specialist last step", TwoNet()), (f"{sys.argv[1]} alone", S)):
        runner = ChunkedPolicy(pred, action_horizon=3, seed=seed, temperature=0.8)
        res = evaluate_vector(lambda: make_env("PushTKeypoints-v0"), runner, episodes=100, num_envs=8, seed=seed)
        s = summarize_results(res)
        print(f"seed {seed}: {name}: success {s['success_rate']:.2f}", flush=True)
