"""Probe (stop 29): how far each few-call flow solver lands from flow-100 on held-out Push-T histories.

Same initial noise N(0, 0.8²·I) for every solver, 512 histories from the held-out tenth of the first
demonstration file (split seed 0, as ``parapolicy-distill``), x0 RMSE in normalized action units.
Euler and Adams-Bashforth 2 are the package's samplers; the explicit midpoint rule (two calls per step)
and DPM-Solver++(2M) in flow time (data-prediction multistep in log-SNR) are written out here only
to compare. Run from the repository root: ``python videos/bench/PushTKeypoints-v0-kp400-s29/extra/probes/flow_solvers.py``.
"""
import json
import math
import sys

import torch

from parapolicy.envs import demos_for_env
from parapolicy.envs.demos import load_demos
from parapolicy.planners.base import Budget
from parapolicy.planners.multistep import AdamsBashforth2Sampler
from parapolicy.planners.sequential import SequentialSampler
from parapolicy.policies import load_policy
from parapolicy.scripts.distill import split_demos

torch.set_num_threads(1)
pol = load_policy("runs/pusht_kp400/checkpoint")
_, held = split_demos(demos_for_env(load_demos("runs/data/pusht_a.hdf5"), pol.config.env_id), pol, 0)
g = torch.Generator().manual_seed(3)
obs = pol.normalizer.unnormalize("obs", held.get_batch(torch.randperm(len(held), generator=g)[:512])["obs"])
cfg = pol.config
x_T = torch.randn((obs.shape[0], cfg.pred_horizon, cfg.action_dim), generator=g) * 0.8  # (512, H, Da)
cond = pol.encode_obs(obs)  # (512, Dc)
den = pol.denoiser
B = x_T.shape[0]


def grid(n: int, rho: float) -> torch.Tensor:
    return torch.linspace(1, 0, n + 1).pow(rho)


def run(sampler_cls, n: int, rho: float) -> torch.Tensor:
    return sampler_cls(pol.schedule, grid(n, rho)).sample(den, cond, x_init=x_T, budget=Budget()).x0


@torch.no_grad()
def midpoint(n: int, rho: float) -> torch.Tensor:
    ts, x = grid(n, rho), x_T.clone()
    for t, tn in zip(ts[:-1], ts[1:]):
        xm = x + 0.5 * (tn - t) * den(x, t.expand(B), cond)
        x = x + (tn - t) * den(xm, (0.5 * (t + tn)).expand(B), cond)
    return x


@torch.no_grad()
def dpmpp_2m(n: int, rho: float) -> torch.Tensor:
    ts, x = [float(t) for t in grid(n, rho)], x_T.clone()
    lam = lambda t: math.log((1 - t) / t) if 0 < t < 1 else (math.inf if t == 0 else -math.inf)  # noqa: E731
    d_prev, h_prev = None, math.inf
    for t, tn in zip(ts[:-1], ts[1:]):
        d = x - t * den(x, torch.full((B,), t), cond)  # x0 prediction
        h = lam(tn) - lam(t)
        if tn == 0:
            return d
        d_mix = d if d_prev is None or not math.isfinite(h_prev) else \
            (1 + h / (2 * h_prev)) * d - h / (2 * h_prev) * d_prev
        x = (tn / t) * x + (1 - tn / t) * d_mix
        d_prev, h_prev = d, h
    return x


ref = run(SequentialSampler, 100, 1.0)
rmse = lambda a: float((a - ref).pow(2).mean().sqrt())  # noqa: E731
rows = []
for n in (3, 4, 5, 6, 8, 10):
    for rho in (1.0, 1.5, 2.0, 2.5, 3.0):
        row = {"calls": n, "rho": rho, "euler": rmse(run(SequentialSampler, n, rho)),
               "ab2": rmse(run(AdamsBashforth2Sampler, n, rho)), "dpmpp_2m": rmse(dpmpp_2m(n, rho)),
               "midpoint": rmse(midpoint(n // 2, rho)) if n % 2 == 0 else None}
        rows.append(row)
        print(json.dumps(row))
json.dump({"reference": "flow100 (uniform Euler)", "histories": B, "temperature": 0.8, "rows": rows},
          open(sys.argv[1] if len(sys.argv) > 1 else "/dev/null", "w"), indent=1)
