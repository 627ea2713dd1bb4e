"""Schedule-generic conversions between a network output and the x0 it implies.

Every schedule here is affine: ``add_noise(x0, ε, t) = a(t)·x0 + b(t)·ε`` and the training target
``training_target(x0, ε, t) = c_x(t)·x0 + c_ε(t)·ε`` (ε-prediction: c_x = 0, c_ε = 1; velocity:
c_x = −1, c_ε = 1). The coefficients are read off the schedule's own public functions, so the
conversions work for DDPM, DDIM and flow without knowing which one they hold. Used by amortized
initialization (roll a trajectory toward a given x0) and by real-time-chunking inpainting (replace or
blend the x0 a denoiser implies).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


def _coeffs(schedule: Any, t: Tensor, like: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Per-row (a, b, c_x, c_ε), each shaped ``(B, 1, ..., 1)`` to broadcast against ``like``."""
    B = t.shape[0]
    shape = (B, *([1] * (like.dim() - 1)))
    one = torch.ones(shape, dtype=torch.float64, device=like.device)  # (B, 1, 1)
    zero = torch.zeros_like(one)
    a = schedule.add_noise(one, zero, t).to(torch.float64)
    b = schedule.add_noise(zero, one, t).to(torch.float64)
    cx = schedule.training_target(one, zero, t).to(torch.float64)
    ce = schedule.training_target(zero, one, t).to(torch.float64)
    return a, b, cx, ce


def x0_from_output(schedule: Any, model_out: Tensor, x_t: Tensor, t: Tensor) -> Tensor:
    """The (unclipped) x0 a network output implies at ``x_t``, level ``t (B,)``: ``(B, H, Da)``."""
    a, b, cx, ce = _coeffs(schedule, t, x_t)
    x0 = (x_t - b / ce * model_out) / (a - b * cx / ce)
    return x0.to(x_t.dtype)


def output_from_x0(schedule: Any, x0: Tensor, x_t: Tensor, t: Tensor) -> Tensor:
    """The network output that implies ``x0`` at ``x_t``, level ``t (B,)`` (needs b(t) > 0): ``(B, H, Da)``."""
    a, b, cx, ce = _coeffs(schedule, t, x_t)
    eps = (x_t - a * x0) / b
    return (cx * x0 + ce * eps).to(x_t.dtype)


def affine_coefficients(schedule: Any, t: Tensor, like: Tensor) -> tuple[Tensor, Tensor]:
    """The signal and noise coefficients (a(t), b(t)) of ``add_noise`` per row, each ``(B, 1, 1)``
    (float64): ``x_t = a·x0 + b·ε``."""
    a, b, _, _ = _coeffs(schedule, t, like)
    return a, b


def noise_scale(schedule: Any, t: Tensor, like: Tensor) -> Tensor:
    """The noise coefficient b(t) of ``add_noise`` per row, ``(B, 1, 1)``: 1 (or nearly) at pure noise,
    0 (or nearly) at clean data, for DDPM/DDIM (sqrt(1 − ᾱ_t)) and flow (t) alike."""
    return _coeffs(schedule, t, like)[1]


def output_slope(schedule: Any, t: Tensor, like: Tensor) -> Tensor:
    """∂output/∂x0 at fixed x_t, ``(B, 1, 1)``: lets a caller move the implied x0 by δ exactly via
    ``out + slope·δ`` without the round-off of converting back and forth."""
    a, b, cx, ce = _coeffs(schedule, t, like)
    return cx - ce * a / b
