"""Probe (run from the repository root with .venv/bin/python <this file> STUDENT [STUDENT …]): does a
student's chunk distribution have its teacher's spread? For 256 held-out demonstration histories, 16
noise draws each at T = 0.8, it compares the per-history standard deviation (over the draws) of the
executed actions 1-3 (Ta = 3) of the teacher's flow-20 ρ = 2 map and of each student sampled at
temperatures 0.8, 1.0 and 1.2. A ratio below 1 means the student's samples are more alike than the
teacher's: it behaves like a colder teacher."""
import sys

import torch

from parapolicy.planners.base import Budget
from parapolicy.planners.sequential import SequentialSampler
from parapolicy.planners.student import deterministic_schedule, teacher_levels, teacher_trajectories
from parapolicy.policies import load_policy
from parapolicy.scripts.distill import split_demos, teacher_dataset
from parapolicy.scripts.train import load_training_demos

torch.set_num_threads(2)
T = load_policy("runs/pusht_kp400/checkpoint", device="cpu")
g = torch.Generator().manual_seed(7)
n, k = 256, 16
demos = load_training_demos(teacher_dataset("runs/pusht_kp400/checkpoint", T.config.env_id), T.config.env_id)
_, held = split_demos(demos, T, 0)
hi = torch.randperm(len(held), generator=g)[:n]
obs = T.normalizer.unnormalize("obs", held.get_batch(hi)["obs"]).repeat_interleave(k, 0)  # (n·k, To, Do)
H, Da = T.config.pred_horizon, T.config.action_dim
z = torch.randn((n * k, H, Da), generator=g)  # (n·k, H, Da) unit noise, scaled per temperature


def spread(x0: torch.Tensor) -> torch.Tensor:
    """Per-history std over the k draws of the executed actions, averaged over positions and dims: (n,)."""
    return x0[:, 1:4].reshape(n, k, -1).std(dim=1).mean(dim=1)


with torch.no_grad():
    ts = teacher_levels(T, deterministic_schedule(T.train_schedule), 20, 2.0)
    _, ref = teacher_trajectories(T, obs, z * 0.8, ts, ts[[0, -1]])  # (n·k, H, Da)
    s_t = spread(ref)
    print(f"teacher flow20-rho2 T=0.8: mean executed spread {s_t.mean():.4f} (median {s_t.median():.4f})")
    for name in sys.argv[1:]:
        S = load_policy(f"runs/pusht_kp400/{name}", device="cpu")
        sampler = SequentialSampler(S.schedule, S.timesteps)
        cond = S.encode_obs(obs)
        for temp in (0.8, 1.0, 1.2):
            x0 = sampler.sample(S.denoiser, cond, x_init=z * temp, budget=Budget()).x0
            s = spread(x0)
            print(f"{name} T={temp}: mean spread {s.mean():.4f}, ratio to the teacher's {s.mean() / s_t.mean():.3f} "
                  f"(median per-history ratio {(s / s_t.clamp_min(1e-6)).median():.3f})")
