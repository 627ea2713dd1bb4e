"""Amortized initialization of Picard iteration: start near the fixed point instead of at a constant.

Given an estimate ``x0_est`` of the clean chunk (from a distilled student, or a warm-started previous
plan), build the whole initial trajectory ``(K+1, B, H, Da)`` that the sequential sampler would follow
*if the denoiser predicted x0_est at every level*, with the same pre-sampled step noise: starting at
``x_init`` each level is ``step(output_from_x0(x0_est), t_k, t_{k+1}, x_k, z_k).prev``. This costs no
network evaluation (pure schedule arithmetic). For DDIM (η = 0) and flow it is exactly
``add_noise(x0_est, ε, t_k)`` with the noise ε implied by ``x_init`` (the deterministic path keeps ε
fixed); for DDPM it is the ancestral posterior chain toward ``x0_est`` driven by the sampler's own
pre-sampled noise, so the guess already carries the same stochastic component as the fixed point.
When ``x0_est`` is close to the sample the sequential sampler would produce, Picard starts within its
tolerance on most of the trajectory and converges in a few passes.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .schedule_math import output_from_x0


def amortized_trajectory(x0_est: Tensor, x_init: Tensor, schedule: Any, timesteps: Tensor, *,
                         start_index: int = 0, noises: Tensor | None = None) -> Tensor:
    """Initial Picard trajectory ``(K+1, B, H, Da)`` toward ``x0_est (B, H, Da)`` from ``x_init``.

    ``timesteps (K+1,)`` the sampler's levels; ``noises (K, B, H, Da)`` the sampler's per-step noise
    (None: deterministic steps). Levels before ``start_index`` are filled with ``x_init`` (unused).
    """
    if x0_est.shape != x_init.shape:
        raise ValueError(f"x0_est {tuple(x0_est.shape)} and x_init {tuple(x_init.shape)} must match")
    K = int(timesteps.numel()) - 1
    if not 0 <= start_index < K:
        raise ValueError(f"start_index must be in [0, {K - 1}], got {start_index}")
    if noises is not None and tuple(noises.shape) != (K, *x_init.shape):
        raise ValueError(f"noises must be (K, B, H, Da) = {(K, *x_init.shape)}, got {tuple(noises.shape)}")
    B = x_init.shape[0]
    ts = timesteps.to(x_init.device)
    traj = x_init.unsqueeze(0).repeat(K + 1, 1, 1, 1)  # (K+1, B, H, Da)
    x = x_init
    with torch.no_grad():
        for k in range(start_index, K):
            t = ts[k].expand(B).clone()  # (B,)
            tp = ts[k + 1].expand(B).clone()  # (B,)
            out = output_from_x0(schedule, x0_est, x, t)  # (B, H, Da)
            x = schedule.step(out, t, tp, x, None if noises is None else noises[k]).prev.to(x_init.dtype)
            traj[k + 1] = x
    return traj
