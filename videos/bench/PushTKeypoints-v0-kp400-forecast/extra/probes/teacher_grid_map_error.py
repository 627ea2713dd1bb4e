"""Probe (run from the repository root with .venv/bin/python <this file>): how far each Euler grid of the teacher
lands from its converged ODE map (400 steps at rho = 2), on 256 held-out demonstration histories at T = 0.8: RMSE
over the chunk and over the executed positions 1-3 (with the 99th percentile per history)."""
import torch, dataclasses
torch.set_num_threads(1)
from parapolicy.policies import load_policy
from parapolicy.scripts.distill import split_demos
from parapolicy.scripts.train import load_training_demos
T = load_policy("runs/pusht_kp400/checkpoint", device="cpu")
demos = load_training_demos(['runs/data/pusht_s0.hdf5','runs/data/pusht_s200.hdf5'], T.config.env_id)
_, held = split_demos(demos, T, 0)
g = torch.Generator().manual_seed(3)
idx = torch.randperm(len(held), generator=g)[:256]
obs = T.normalizer.unnormalize('obs', held.get_batch(idx)['obs'])
xT = torch.randn(256, 16, 2, generator=g) * 0.8
cond = T.encode_obs(obs)
def run(K, rho):
    ts = dataclasses.replace(T.train_schedule, time_power=rho).timesteps(K).tolist()
    x = xT
    with torch.no_grad():
        for t, tp in zip(ts[:-1], ts[1:]):
            x = x + (tp - t) * T.denoiser(x, torch.full((256,), t), cond)
    return x
ref = run(400, 2.0)
for K, rho in [(100, 1.0), (20, 2.0), (10, 1.0), (10, 2.0), (20, 3.0), (30, 2.0), (50, 2.0), (200, 1.0)]:
    x = run(K, rho)
    e = (x - ref)[:, 1:4].pow(2).mean(dim=(1, 2)).sqrt()
    print(K, rho, "rmse vs flow400-rho2", round(float((x - ref).pow(2).mean().sqrt()), 4), "exec", round(float(e.pow(2).mean().sqrt()), 4), "q99", round(float(e.quantile(0.99)), 4))
