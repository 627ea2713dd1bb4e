"""Amortized initialization of Picard iteration: start near the fixed point instead of at a constant.

Given an estimate ``x0_est`` of the clean chunk (from a distilled student, or a warm-started previous
plan), build the whole initial trajectory ``(K+1, B, H, Da)`` that the sequential sampler would follow
*if the denoiser predicted x0_est at every level*, with the same pre-sampled step noise: starting at
``x_init`` each level is ``step(output_from_x0(x0_est), t_k, t_{k+1}, x_k, z_k).prev``. This costs no
network evaluation (pure schedule arithmetic). For DDIM (η = 0) and flow it is exactly
``add_noise(x0_est, ε, t_k)`` with the noise ε implied by ``x_init`` (the deterministic path keeps ε
fixed); for DDPM it is the ancestral posterior chain toward ``x0_est`` driven by the sampler's own
pre-sampled noise, so the guess already carries the same stochastic component as the fixed point.
The roll-out runs on per-level affine coefficients (``step_coefficients``), so it costs a few small
vectorized schedule calls plus one multiply-add per level, not a full schedule step per level.
When ``x0_est`` is close to the sample the sequential sampler would produce, Picard starts within its
tolerance on most of the trajectory and converges in a few passes.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .schedule_math import output_from_x0


def amortized_trajectory(x0_est: Tensor, x_init: Tensor, schedule: Any, timesteps: Tensor, *,
                         start_index: int = 0, noises: Tensor | None = None,
                         coefficients: tuple[Tensor, Tensor, Tensor] | None = None) -> Tensor:
    """Initial Picard trajectory ``(K+1, B, H, Da)`` toward ``x0_est (B, H, Da)`` from ``x_init``.

    ``timesteps (K+1,)`` the sampler's levels; ``noises (K, B, H, Da)`` the sampler's per-step noise
    (None: deterministic steps). Levels before ``start_index`` are filled with ``x_init`` (unused).
    ``coefficients``: ``step_coefficients`` of all K steps of ``timesteps``, when the caller keeps them.
    """
    if x0_est.shape != x_init.shape:
        raise ValueError(f"x0_est {tuple(x0_est.shape)} and x_init {tuple(x_init.shape)} must match")
    K = int(timesteps.numel()) - 1
    if not 0 <= start_index < K:
        raise ValueError(f"start_index must be in [0, {K - 1}], got {start_index}")
    if noises is not None and tuple(noises.shape) != (K, *x_init.shape):
        raise ValueError(f"noises must be (K, B, H, Da) = {(K, *x_init.shape)}, got {tuple(noises.shape)}")
    ts = timesteps.to(x_init.device)
    traj = x_init.unsqueeze(0).repeat(K + 1, 1, 1, 1)  # (K+1, B, H, Da)
    n = K - start_index
    if coefficients is None:
        coefficients = step_coefficients(schedule, ts[:K], ts[1:K + 1])
    a, b, s = (v[start_index:].to(x_init) for v in coefficients)  # each (n, 1, 1)
    x = x_init
    with torch.no_grad():
        for j in range(n):
            x = a[j] * x + b[j] * x0_est
            if noises is not None:
                x = x + s[j] * noises[start_index + j]
            traj[start_index + j + 1] = x
    return traj


def step_coefficients(schedule: Any, t: Tensor, t_prev: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Per-step coefficients ``(a, b, s)``, each ``(n, 1, 1)``, such that a step whose network output
    implies a given x0 lands at ``a·x_t + b·x0 + s·z`` (z: the step's pre-sampled noise).

    Every schedule's step is affine in (x_t, x0, z) once the output is expressed through x0 (clipping
    is a no-op for an x0 already in range), so three probes per level, vectorized over the ``n``
    levels ``t (n,) → t_prev (n,)``, give the coefficients; float64 keeps the top DDPM level's
    1/√ᾱ amplification from rounding them.
    """
    n = t.shape[0]
    zero = torch.zeros((n, 1, 1), dtype=torch.float64, device=t.device)  # (n, 1, 1)
    one = torch.ones_like(zero)

    def land(x0: Tensor, x_t: Tensor, z: Tensor) -> Tensor:
        out = output_from_x0(schedule, x0, x_t, t)  # (n, 1, 1)
        return schedule.step(out, t, t_prev, x_t, z).prev.to(torch.float64)

    c = land(zero, zero, zero)
    return land(zero, one, zero) - c, land(one, zero, zero) - c, land(zero, zero, one) - c
