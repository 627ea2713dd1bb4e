"""The one sequential sampling loop: K denoising steps over a schedule's timesteps.

Every sequential sampler in the project (a policy's ``predict_chunk``, the planners' budgeted
``SequentialSampler``, a distilled student, a warm start) is this loop with different arguments:
a student is another (denoiser, timesteps) pair, a warm start is an ``x_init`` plus ``start_index``,
a budget is a ``should_stop`` hook.
"""
from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple, Protocol

import torch
from torch import Tensor

from .schedules import DDIMSchedule, DDPMSchedule


class Denoiser(Protocol):
    """A learned network: ``x_t (B, H, Da)``, schedule time ``t (B,)``, ``cond (B, Dc)`` → ``(B, H, Da)``."""

    def __call__(self, x_t: Tensor, t: Tensor, cond: Tensor) -> Tensor: ...


class SampleOutcome(NamedTuple):
    """What ``denoise`` returns.

    ``x0``: the clean chunk ``(B, H, Da)`` when ``completed``, else the latest x0 estimate of the
    last step done; ``steps_done``: denoiser calls made; ``completed``: all steps ran.
    """

    x0: Tensor
    steps_done: int
    completed: bool


def check_temperature(temperature: Any) -> float:
    """``temperature`` as a float if it is a finite number > 0 (the scale of a chain's initial noise),
    else ``ValueError`` with one line."""
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) \
            or not math.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be a number > 0, got {temperature!r}")
    return float(temperature)


def needs_step_noise(schedule: Any) -> bool:
    """Whether ``schedule.step`` uses per-step noise: DDPM ancestral, and DDIM only with ``eta > 0``."""
    if isinstance(schedule, DDIMSchedule):
        return schedule.eta > 0
    return isinstance(schedule, DDPMSchedule)


def denoise(denoiser: Denoiser, schedule: Any, x_init: Tensor, cond: Tensor, timesteps: Tensor, *,
            start_index: int = 0, noises: Tensor | None = None, generator: torch.Generator | None = None,
            should_stop: Callable[[int], bool] | None = None) -> SampleOutcome:
    """Run steps ``start_index … K-1`` from ``x_init`` (the sample at level ``timesteps[start_index]``).

    ``timesteps (K+1,)``: levels noisiest first, ending at the terminal level; step i goes from
    ``timesteps[i]`` to ``timesteps[i + 1]`` with one ``denoiser(x, t, cond)`` call where ``t`` is
    the level expanded to ``(B,)``. ``noises (K, B, H, Da)``: pre-sampled per-step noise indexed by
    absolute step (used only by schedules that inject noise: DDPM, DDIM with eta > 0); when None such
    schedules draw it from ``generator`` (CPU generator; None: torch's global RNG).
    ``should_stop(i)`` is asked before every step after the first one the loop makes (an x0 estimate
    needs at least one step); returning True ends the loop early (``completed=False``).
    Runs under ``torch.no_grad``.
    """
    ts = torch.as_tensor(timesteps)
    if ts.dim() != 1 or ts.numel() < 2:
        raise ValueError(f"timesteps must be a 1-D tensor of K+1 >= 2 levels, got shape {tuple(ts.shape)}")
    if x_init.dim() != 3:
        raise ValueError(f"x_init must be (B, H, Da), got shape {tuple(x_init.shape)}")
    K = ts.numel() - 1
    if not 0 <= start_index <= K:
        raise ValueError(f"start_index must be in [0, {K}] for {K} steps, got {start_index}")
    B = x_init.shape[0]
    if noises is not None and (noises.dim() != 4 or noises.shape[0] != K or noises.shape[1:] != x_init.shape):
        raise ValueError(f"noises must be (K, B, H, Da) = {(K, *x_init.shape)}, got {tuple(noises.shape)}")
    stochastic = needs_step_noise(schedule)
    ts = ts.to(x_init.device)
    x = x_init
    x0_hat = x_init
    done = 0
    with torch.no_grad():
        for i in range(start_index, K):
            if done > 0 and should_stop is not None and should_stop(i):
                return SampleOutcome(x0=x0_hat, steps_done=done, completed=False)
            t = ts[i].expand(B)  # (B,)
            t_prev = ts[i + 1].expand(B)  # (B,)
            out = denoiser(x, t, cond)  # (B, H, Da)
            noise = None
            if stochastic:
                if noises is not None:
                    noise = noises[i]
                else:
                    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)  # (B, H, Da)
            x, x0_hat = schedule.step(out, t, t_prev, x, noise)
            done += 1
    return SampleOutcome(x0=x, steps_done=done, completed=True)
