"""Real-time chunking with pseudo-inverse guidance (ΠGDM), the guidance RTC itself uses (Black et al. 2025).

``rtc.InpaintingDenoiser`` pulls the x0 a network implies toward the old chunk position by position,
without a gradient: it can only move the overlap, and the free tail of the chunk learns about the
committed prefix only through the next denoising steps. ΠGDM instead asks how the *noisy sample*
should move so that the network's x0 estimate agrees with the old chunk on the weighted positions,
a vector-Jacobian product through the network:

    g = (∂x̂0/∂x_t)ᵀ · W ⊙ (target − x̂0)                     (R, H, Da)

and adds it to the velocity. Because the network couples all positions, the free tail moves too, so
the whole new chunk bends toward a plan that continues the committed actions.

In RTC's flow convention (τ = 0 noise, τ = 1 data) the guided velocity is ``v + k·g`` with
``k = min(β, (1 − τ) / (τ·r²))``, ``r² = (1 − τ)² / (τ² + (1 − τ)²)`` and β = 5 (guidance clipping).
Here every schedule is affine, ``x_t = a(t)·x0 + b(t)·ε``; with a = τ and b = 1 − τ for flow, that
step moves the implied x0 by ``b·k·g`` with ``k = min(β, (a² + b²)/(a·b))``. This module applies the
same x0 shift for DDPM/DDIM (a = sqrt(ᾱ), b = sqrt(1 − ᾱ), so k = min(β, 1/(a·b))), which is the
variance-preserving reading of the same rule. Positions with weight 1 are then also set exactly to
the target, as in ``frozen`` mode: those actions are the ones the robot executes during the delay.

Cost: one backward pass through the network per call (about 2–3 forward passes on a CPU), so a
pigdm chunk is slower than a blended one; the cost model, which times forward passes, does not know
that (the wall-clock executor estimates delay from observed latencies after the first chunk).
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from .base import Denoiser
from .rtc import check_inpainting
from .schedule_math import affine_coefficients, output_slope, x0_from_output

MAX_GUIDANCE = 5.0  # β: RTC's clip on the guidance weight near pure noise


def guidance_weight(a: Tensor, b: Tensor, max_guidance: float = MAX_GUIDANCE) -> Tensor:
    """ΠGDM's step weight k per row for signal/noise coefficients ``a, b (R, 1, 1)``: ``min(β,
    (a² + b²)/(a·b))`` (β at pure noise, where a = 0)."""
    ab = a * b
    k = torch.where(ab > 0, (a * a + b * b) / ab.clamp_min(1e-12), torch.full_like(ab, math.inf))
    return k.clamp(max=max_guidance)


class PinvGuidedDenoiser:
    """A denoiser whose output is guided (ΠGDM) toward ``target (B, H, Da)`` on the positions with
    weight > 0 (``weights (H,)`` or ``(B, H)`` in [0, 1]); weight-1 positions come out exactly equal to
    the target. Rows beyond B (a Picard window) use target row ``r mod B``."""

    def __init__(self, denoiser: Denoiser, schedule: Any, target: Tensor, weights: Tensor, *,
                 max_guidance: float = MAX_GUIDANCE) -> None:
        if not math.isfinite(max_guidance) or max_guidance < 0:
            raise ValueError(f"max_guidance must be a finite number >= 0, got {max_guidance!r}")
        self.weights = check_inpainting(target, weights)  # (B, H, 1)
        self.denoiser = denoiser
        self.schedule = schedule
        self.target = target  # (B, H, Da)
        self.max_guidance = float(max_guidance)

    def __call__(self, x_t: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        B = self.target.shape[0]
        if x_t.shape[0] % B:
            raise ValueError(f"inpainting target has batch {B} but the sampler sent {x_t.shape[0]} rows")
        reps = x_t.shape[0] // B
        w = self.weights.to(x_t).repeat(reps, 1, 1)  # (R, H, 1)
        if not bool((w > 0).any()):
            return self.denoiser(x_t, t, cond)
        target = self.target.to(x_t).repeat(reps, 1, 1)  # (R, H, Da)
        with torch.enable_grad():
            x = x_t.detach().requires_grad_(True)  # (R, H, Da)
            out = self.denoiser(x, t, cond)  # (R, H, Da)
            x0 = x0_from_output(self.schedule, out, x, t)  # (R, H, Da)
            err = (w * (target - x0)).detach()  # (R, H, Da) weighted residual
            (g,) = torch.autograd.grad(x0, x, grad_outputs=err)  # (R, H, Da) Jᵀ·W(target − x̂0)
        out, x0 = out.detach(), x0.detach()
        a, b = affine_coefficients(self.schedule, t, x_t)  # (R, 1, 1) each
        shift = (b * guidance_weight(a, b, self.max_guidance)).to(x0) * g  # (R, H, Da)
        x0_new = torch.where(w >= 1, target, x0 + shift)
        return out + output_slope(self.schedule, t, x_t).to(out) * (x0_new - x0)
