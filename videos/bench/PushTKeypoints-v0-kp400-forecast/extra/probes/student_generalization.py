"""Probe (run from the repository root with .venv/bin/python <this file> STUDENT [BANK_STUDENT]): where a
student's x0 error against the teacher's flow-100 map comes from. The same 512 histories are scored three
ways, at T = 0.8: training histories with the noise they were labelled with (what the loss saw), training
histories with fresh noise (generalisation across the noise), and held-out demonstration histories with
fresh noise (generalisation across states too). BANK_STUDENT names the student whose saved bank supplies
the training histories (default: STUDENT's own)."""
import sys

import torch

from parapolicy.planners.base import Budget
from parapolicy.planners.sequential import SequentialSampler
from parapolicy.planners.student import deterministic_schedule, teacher_levels, teacher_trajectories
from parapolicy.policies import load_policy
from parapolicy.scripts.distill import read_bank, split_demos, teacher_dataset
from parapolicy.scripts.train import load_training_demos

torch.set_num_threads(1)
name = sys.argv[1]
bank_of = sys.argv[2] if len(sys.argv) > 2 else name
T = load_policy("runs/pusht_kp400/checkpoint", device="cpu")
S = load_policy(f"runs/pusht_kp400/{name}", device="cpu")
tens, meta = read_bank(f"runs/pusht_kp400/{bank_of}")
g = torch.Generator().manual_seed(5)
n = 512
idx = torch.randperm(tens["obs"].shape[0], generator=g)[:n]
ts = teacher_levels(T, deterministic_schedule(T.train_schedule), 100)
q = torch.tensor([0.5, 0.9, 0.99])


def report(obs: torch.Tensor, x_T: torch.Tensor) -> str:
    """RMSE over the chunk and over the executed positions 1-3 (Ta = 3), with per-history quantiles."""
    sampler = SequentialSampler(S.schedule, S.timesteps)
    with torch.no_grad():
        _, ref = teacher_trajectories(T, obs, x_T, ts, S.timesteps)  # (n, H, Da)
        x0 = sampler.sample(S.denoiser, S.encode_obs(obs), x_init=x_T, budget=Budget()).x0
        base = sampler.sample(T.denoiser, T.encode_obs(obs), x_init=x_T, budget=Budget()).x0
    e = (x0 - ref).pow(2).mean(dim=(1, 2)).sqrt()  # (n,)
    ex = (x0 - ref)[:, 1:4].pow(2).mean(dim=(1, 2)).sqrt()  # (n,)
    rms = lambda v: float(v.pow(2).mean().sqrt())  # noqa: E731
    return (f"rmse {rms(e):.4f} (teacher's net at these levels {rms((base - ref).pow(2).mean(dim=(1, 2)).sqrt()):.4f}), "
            f"per-history q50/90/99 {e.quantile(q).numpy().round(4)}; executed 1-3 rmse {rms(ex):.4f}, "
            f"q50/90/99 {ex.quantile(q).numpy().round(4)}")


x_bank = tens["states"][0, idx]  # (n, H, Da) the labels' own initial noise
print(name, "training histories, their labels' noise:", report(tens["obs"][idx], x_bank))
x_T = torch.randn(x_bank.shape, generator=g) * 0.8
print(name, "training histories, fresh noise:        ", report(tens["obs"][idx], x_T))
demos = load_training_demos(teacher_dataset("runs/pusht_kp400/checkpoint", T.config.env_id), T.config.env_id)
_, held = split_demos(demos, T, int(meta.get("split_seed", 0)))
hi = torch.randperm(len(held), generator=g)[:n]
print(name, "held-out histories, fresh noise:        ",
      report(T.normalizer.unnormalize("obs", held.get_batch(hi)["obs"]), x_T))
