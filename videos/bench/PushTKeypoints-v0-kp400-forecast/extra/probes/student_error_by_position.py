"""Probe (run from the repository root with .venv/bin/python <this file>): each student's x0 error against
the teacher's flow-100 map, per chunk position, on 512 held-out demonstration histories at T = 0.8."""
import torch, numpy as np
from parapolicy.policies import load_policy
from parapolicy.scripts.train import load_training_demos
from parapolicy.scripts.distill import split_demos
from parapolicy.planners.student import teacher_trajectories, deterministic_schedule, teacher_levels
from parapolicy.planners.sequential import SequentialSampler
from parapolicy.planners.base import Budget
torch.set_num_threads(1)
T = load_policy('runs/pusht_kp400/checkpoint')
demos = load_training_demos(['runs/data/pusht_s0.hdf5','runs/data/pusht_s200.hdf5'], T.config.env_id)
_, held = split_demos(demos, T, 0)
g = torch.Generator().manual_seed(3)
idx = torch.randperm(len(held), generator=g)[:512]
obs = T.normalizer.unnormalize('obs', held.get_batch(idx)['obs'])
x_T = torch.randn((512, 16, 2), generator=g) * 0.8
for name in ['student2_op', 'student2_gpu', 'student2_gpu_op']:
    S = load_policy(f'runs/pusht_kp400/{name}')
    with torch.no_grad():
        _, ref = teacher_trajectories(T, obs, x_T, teacher_levels(T, deterministic_schedule(T.train_schedule), 100), S.timesteps)
        res = SequentialSampler(S.schedule, S.timesteps).sample(S.denoiser, S.encode_obs(obs), x_init=x_T, budget=Budget())
        base = SequentialSampler(S.schedule, S.timesteps).sample(T.denoiser, T.encode_obs(obs), x_init=x_T, budget=Budget())
    e = (res.x0 - ref).pow(2).mean(-1).sqrt()  # (n, H)
    eb = (base.x0 - ref).pow(2).mean(-1).sqrt()
    per = (res.x0 - ref).pow(2).mean(dim=(0, 2)).sqrt()
    perb = (base.x0 - ref).pow(2).mean(dim=(0, 2)).sqrt()
    ex = (res.x0[:, 1:4] - ref[:, 1:4]).norm(dim=(1, 2))
    print(name, 'per-pos rmse', np.round(per.numpy(), 3))
    print('  teacher-2step', np.round(perb.numpy(), 3))
    q = torch.quantile(ex, torch.tensor([0.5, 0.9, 0.99]))
    print('  executed(1:4) err quantiles', q.numpy().round(3), 'frac>0.1', float((ex > 0.1).float().mean()))
