"""Real-time chunking (Black et al. 2025) as a denoiser wrapper: freeze the committed prefix of the
next chunk and softly guide the rest of the overlap toward the previous chunk.

While a new chunk is being computed, the controller keeps executing the old one; with an inference
delay of d control steps the first d actions of the new chunk are already committed. RTC treats the
new chunk as an inpainting problem: positions with weight 1 must equal the old chunk, positions with
weight in (0, 1) are pulled toward it, positions with weight 0 are free.

Implementation: ``InpaintingDenoiser`` wraps the network. At every call it converts the network
output into the x0 it implies (``schedule_math``), replaces it by ``(1 − w)·x0 + w·target`` per
position, and converts back. The sampler's own step then moves x_t to the next level *consistently
with the replaced x0*: for w = 1 the sample at every level is the old action noised to that level
(with the trajectory's own noise rather than fresh noise), and at the terminal level it equals the
old action exactly. This is gradient-free — RTC proper uses ΠGDM guidance (a vector-Jacobian product
through the network) for the soft part; blending in x0 space is the cheap approximation that needs no
backward pass and therefore works inside ``torch.no_grad`` and with *any* sampler (sequential, Picard,
student, warm-started), because it is just another denoiser. With Picard, rows are stacked window
position-major, so row r uses target row ``r mod B``.

Soft weights (0 < w < 1) fade with the noise level: at level t the blend uses ``w · b(t)^p`` where
b(t) is the noise coefficient of ``add_noise`` (1 at pure noise, about 0 at clean data) and p =
``soft_power`` (default 2). The pull therefore steers the noisy sample — which route, roughly where —
and the network alone writes the final soft-region actions, as guidance does. A constant blend (p = 0)
would return, at the last step, ``(1 − w)·new + w·old`` literally: an average of two plans that need
not be a plan at all, and a pull of the executed actions toward a stale tail. On Push-T that constant
blend made guided overlap the weakest mode; videos/bench/planners.md has both measurements.
Frozen positions (w = 1) stay hard at every level.

Weights (RTC's soft mask): 1 on the frozen prefix ``[0, frozen)``, an exponential decay
``c·(e^c − 1)/(e − 1)`` with ``c = (end − i)/(end − frozen + 1)`` over the rest of the overlap
``[frozen, end)``, 0 after it.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from .base import Denoiser
from .schedule_math import noise_scale, output_slope, x0_from_output

RTC_MODES = ("naive", "frozen", "guided", "pigdm")  # pigdm: ``rtc_pigdm.PinvGuidedDenoiser``
SOFT_POWER = 2.0  # soft weights act as w · b(t)^SOFT_POWER at noise level t


def rtc_weights(horizon: int, frozen: int, overlap_end: int, mode: str) -> Tensor:
    """Inpainting weights ``(H,)`` for ``mode`` in ``naive`` | ``frozen`` | ``guided`` | ``pigdm``.

    ``frozen``: committed positions (weight 1); ``overlap_end``: first position the old chunk does not
    cover (weights decay to 0 before it in ``guided`` and ``pigdm`` modes, which share RTC's soft mask).
    """
    if mode not in RTC_MODES:
        raise ValueError(f"unknown RTC mode {mode!r}; allowed: {', '.join(RTC_MODES)}")
    if not 0 <= frozen <= overlap_end <= horizon:
        raise ValueError(f"need 0 <= frozen ({frozen}) <= overlap_end ({overlap_end}) <= H ({horizon})")
    w = torch.zeros(horizon)  # (H,)
    if mode == "naive":
        return w
    w[:frozen] = 1.0
    if mode in ("guided", "pigdm") and overlap_end > frozen:
        i = torch.arange(frozen, overlap_end, dtype=torch.float64)
        c = (overlap_end - i) / (overlap_end - frozen + 1)
        w[frozen:overlap_end] = (c * (torch.exp(c) - 1) / (math.e - 1)).float()
    return w


def check_inpainting(target: Tensor, weights: Tensor) -> Tensor:
    """Validate an inpainting ``target (B, H, Da)`` and ``weights (H,)`` or ``(B, H)`` in [0, 1];
    returns the weights as ``(B, H, 1)`` in the target's dtype."""
    if target.dim() != 3:
        raise ValueError(f"target must be (B, H, Da), got shape {tuple(target.shape)}")
    w = torch.as_tensor(weights, dtype=target.dtype)
    if w.dim() == 1:
        w = w.unsqueeze(0).expand(target.shape[0], -1)
    if tuple(w.shape) != tuple(target.shape[:2]):
        raise ValueError(f"weights must be (H,) or (B, H) matching target {tuple(target.shape)}, "
                         f"got {tuple(torch.as_tensor(weights).shape)}")
    if bool((w < 0).any()) or bool((w > 1).any()):
        raise ValueError("inpainting weights must lie in [0, 1]")
    return w.unsqueeze(-1).contiguous()


class InpaintingDenoiser:
    """A denoiser whose implied x0 is blended toward ``target`` with per-position ``weights``.

    ``target (B, H, Da)`` normalized actions (the old chunk aligned to the new chunk's positions);
    ``weights (H,)`` or ``(B, H)`` in [0, 1]; ``soft_power`` p: a soft weight w acts as ``w · b(t)^p``
    at noise level t (0: a constant blend). Counts its calls like the network it wraps.
    """

    def __init__(self, denoiser: Denoiser, schedule: Any, target: Tensor, weights: Tensor, *,
                 soft_power: float = SOFT_POWER) -> None:
        w = check_inpainting(target, weights)[..., 0]  # (B, H)
        if not math.isfinite(soft_power) or soft_power < 0:
            raise ValueError(f"soft_power must be a finite number >= 0, got {soft_power!r}")
        self.soft_power = float(soft_power)
        self.denoiser = denoiser
        self.schedule = schedule
        self.target = target  # (B, H, Da)
        self.weights = w.unsqueeze(-1).contiguous()  # (B, H, 1)
        self._fades = self.soft_power > 0 and bool(((w > 0) & (w < 1)).any())  # frozen-only needs no fade
        self.clip = float(getattr(schedule, "clip_range", 1.0)) if getattr(schedule, "clip_sample", False) else None

    def __call__(self, x_t: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        out = self.denoiser(x_t, t, cond)  # (R, H, Da), R = n·B
        B = self.target.shape[0]
        if x_t.shape[0] % B:
            raise ValueError(f"inpainting target has batch {B} but the sampler sent {x_t.shape[0]} rows")
        reps = x_t.shape[0] // B
        target = self.target.to(out).repeat(reps, 1, 1)  # (R, H, Da), row r ↔ target[r mod B]
        w = self.weights.to(out).repeat(reps, 1, 1)  # (R, H, 1)
        if not bool((w > 0).any()):
            return out
        if self._fades:  # soft weights fade as the sample sharpens; frozen ones stay 1
            fade = noise_scale(self.schedule, t, x_t).to(out).clamp(0, 1) ** self.soft_power  # (R, 1, 1)
            w = torch.where(w >= 1, w, w * fade)  # (R, H, 1)
        x0_raw = x0_from_output(self.schedule, out, x_t, t)  # (R, H, Da)
        x0 = x0_raw if self.clip is None else x0_raw.clamp(-self.clip, self.clip)
        x0_new = x0 + w * (target - x0)
        delta = torch.where(w > 0, x0_new - x0_raw, torch.zeros_like(x0_raw))
        return out + output_slope(self.schedule, t, x_t).to(out) * delta
