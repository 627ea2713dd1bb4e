"""Warm start: begin the next chunk's denoising from the previous chunk instead of pure noise.

Consecutive chunks overlap in time: after ``executed`` actions the tail of the previous plan is still
a good guess of the next one. ``warm_start`` shifts the previous (normalized) chunk left by the
executed actions, pads the tail by repeating its last action, and re-noises it to an intermediate
level ``timesteps[start_index]`` with ``schedule.add_noise``; any sampler then runs only the remaining
``K - start_index`` steps from there (a warm start is just an ``x_init`` plus a ``start_index``).

At ``start_index = 0`` the level is the schedule's noisiest one. For flow matching (t = 1) the result
is exactly the noise, so a warm start there is bit-identical to a fresh sample. For DDPM/DDIM the top
level keeps a residual signal √ᾱ_top·x0 (ᾱ_top ≈ 2e-7 for the 100-step squared-cosine schedule, so a
coefficient ≈ 5e-4): the result differs from the noise by at most that, which the tests bound.
"""
from __future__ import annotations

import numbers
from typing import Any

import torch
from torch import Tensor


def shift_chunk(prev_chunk: Tensor, executed: int) -> Tensor:
    """Drop the first ``executed`` actions and repeat the last action to keep length H: ``(B, H, Da)``."""
    if prev_chunk.dim() != 3:
        raise ValueError(f"prev_chunk must be (B, H, Da), got shape {tuple(prev_chunk.shape)}")
    H = prev_chunk.shape[1]
    if isinstance(executed, bool) or not isinstance(executed, numbers.Integral) or not 0 <= executed < H:
        raise ValueError(f"executed must be an integer in [0, {H - 1}] for a chunk of H={H}, got {executed!r}")
    if executed == 0:
        return prev_chunk.clone()
    tail = prev_chunk[:, -1:].expand(-1, executed, -1)  # (B, executed, Da)
    return torch.cat([prev_chunk[:, executed:], tail], dim=1)  # (B, H, Da)


def warm_start(prev_chunk: Tensor, executed: int, schedule: Any, timesteps: Tensor, start_index: int, *,
               noise: Tensor | None = None, generator: torch.Generator | None = None) -> tuple[Tensor, int]:
    """Initial sample for the next chunk from the previous one.

    ``prev_chunk (B, H, Da)`` normalized actions; ``executed`` actions of it already ran;
    ``timesteps (K+1,)`` the sampler's levels; ``start_index`` in ``[0, K-1]`` the level to start at;
    ``noise (B, H, Da)`` (drawn from ``generator`` if None). Returns ``(x_init, start_index)``.
    """
    K = int(timesteps.numel()) - 1
    if isinstance(start_index, bool) or not isinstance(start_index, numbers.Integral) \
            or not 0 <= start_index < K:
        raise ValueError(f"start_index must be an integer in [0, {K - 1}], got {start_index!r}")
    shifted = shift_chunk(prev_chunk, executed)  # (B, H, Da)
    if noise is None:
        noise = torch.randn(shifted.shape, generator=generator, dtype=shifted.dtype).to(shifted.device)
    elif noise.shape != shifted.shape:
        raise ValueError(f"noise must have the chunk's shape {tuple(shifted.shape)}, got {tuple(noise.shape)}")
    level = timesteps[start_index].to(shifted.device)
    t = level.expand(shifted.shape[0]).clone()  # (B,)
    x_init = schedule.add_noise(shifted, noise, t).to(shifted.dtype)  # (B, H, Da)
    return x_init, int(start_index)
