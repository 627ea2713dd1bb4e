"""Tiny denoisers for planner tests: an analytic one for Gaussian data and a random MLP."""
from __future__ import annotations

import time
from typing import Any, Callable

import torch
from torch import Tensor, nn

from parapolicy.policies.schedules import DDIMSchedule, DDPMSchedule, FlowSchedule


class GaussianDenoiser:
    """The exact denoiser for data x0 ~ N(μ(cond), s²·I): ε-prediction (DDPM/DDIM) or velocity (flow).

    μ(cond) is the first H·Da entries of ``cond`` reshaped to (H, Da); with ``s="cond"`` the data std
    of each row is ``cond[:, H·Da]``, so some conditions can be confident (small s) and others not.
    """

    def __init__(self, schedule: Any, H: int, Da: int, s: float | str = 0.5) -> None:
        self.schedule, self.H, self.Da, self.s = schedule, H, Da, s
        self.calls = 0
        self.rows = 0

    def mean(self, cond: Tensor) -> Tensor:
        return cond[:, : self.H * self.Da].reshape(-1, self.H, self.Da)  # (B, H, Da)

    def std(self, cond: Tensor) -> Tensor:
        if self.s == "cond":
            return cond[:, self.H * self.Da].reshape(-1, 1, 1)  # (B, 1, 1)
        return torch.full((cond.shape[0], 1, 1), float(self.s), dtype=cond.dtype)

    def __call__(self, x_t: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        self.calls += 1
        self.rows += x_t.shape[0]
        mu, s = self.mean(cond), self.std(cond)
        s2 = s * s
        if isinstance(self.schedule, FlowSchedule):
            tt = t.float().reshape(-1, 1, 1)
            a, b = 1 - tt, tt
            r = x_t - a * mu
            var = a * a * s2 + b * b
            ex0 = mu + a * s2 / var * r
            eeps = b / var * r
            return eeps - ex0
        ab = self.schedule.alpha_bar(t).reshape(-1, 1, 1).to(x_t.dtype)
        r = x_t - ab.sqrt() * mu
        return (1 - ab).sqrt() * r / (ab * s2 + 1 - ab)


class MLPDenoiser(nn.Module):
    """A small randomly initialised torch MLP ``(x_t, t, cond) -> (B, H, Da)`` (smooth, nonlinear)."""

    def __init__(self, H: int, Da: int, Dc: int, hidden: int = 64, seed: int = 0, t_scale: float = 100.0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.H, self.Da, self.t_scale = H, Da, t_scale
        self.net = nn.Sequential(nn.Linear(H * Da + 1 + Dc, hidden), nn.Tanh(), nn.Linear(hidden, H * Da))
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)
        self.calls = 0

    def forward(self, x_t: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        self.calls += 1
        tt = t.float().reshape(-1, 1) / self.t_scale
        h = torch.cat([x_t.reshape(x_t.shape[0], -1), tt, cond], dim=1)
        return self.net(h).reshape(-1, self.H, self.Da)


class FakeClock:
    """A clock that only moves when told: ``advance(s)``."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, s: float) -> None:
        self.now += s


class TimedDenoiser:
    """Wraps a denoiser and advances a fake clock by ``per_call_s`` each call."""

    def __init__(self, inner: Callable, clock: FakeClock, per_call_s: float) -> None:
        self.inner, self.clock, self.per_call_s = inner, clock, per_call_s
        self.calls = 0

    def __call__(self, x_t: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        self.calls += 1
        self.clock.advance(self.per_call_s)
        return self.inner(x_t, t, cond)


class SleepyDenoiser:
    """Wraps a denoiser and really sleeps ``sleep_s`` per call (a deliberately slow model)."""

    def __init__(self, inner: Callable, sleep_s: float) -> None:
        self.inner, self.sleep_s = inner, sleep_s

    def __call__(self, x_t: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        time.sleep(self.sleep_s)
        return self.inner(x_t, t, cond)


def schedules() -> dict[str, Any]:
    """One schedule of each kind."""
    return {"ddpm": DDPMSchedule(100), "ddim": DDIMSchedule(100), "flow": FlowSchedule(100)}


class ConstantX0Denoiser:
    """Always implies the same clean chunk ``x0 (B, H, Da)``: its sampling trajectory is known exactly
    (the amortized-init trajectory toward ``x0``)."""

    def __init__(self, schedule: Any, x0: Tensor) -> None:
        from parapolicy.planners.schedule_math import output_from_x0

        self.schedule, self.x0, self._out = schedule, x0, output_from_x0
        self.calls = 0

    def __call__(self, x_t: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        self.calls += 1
        reps = x_t.shape[0] // self.x0.shape[0]
        return self._out(self.schedule, self.x0.repeat(reps, 1, 1), x_t, t)


def make_chunk_model(schedule: Any, *, denoiser: Callable | None = None, H: int = 16, Ta: int = 8, To: int = 2,
                     Da: int = 2, Do: int = 3, offset: int | None = None):
    """A ChunkModel around a random MLP: cond = flattened raw obs history, actions = 2·x0 + 1."""
    from parapolicy.planners.realtime import ChunkModel

    t_scale = getattr(schedule, "num_train_steps", 100)
    den = denoiser if denoiser is not None else MLPDenoiser(H, Da, To * Do, t_scale=t_scale)
    return ChunkModel(denoiser=den, schedule=schedule, encode_obs=lambda o: o.reshape(o.shape[0], -1),
                      unnormalize=lambda x: 2 * x + 1, obs_horizon=To, pred_horizon=H, action_horizon=Ta,
                      action_dim=Da, action_offset=To - 1 if offset is None else offset)


def rtc_case(kind: str, picard: bool, *, B: int, H: int, Da: int, Dc: int, K: int = 20) -> dict[str, Any]:
    """One seeded real-time-chunking problem shared by the inpainting and ΠGDM tests: ``cond (B, Dc)``,
    an old chunk ``target (B, H, Da)`` in [-0.9, 0.9], initial noise ``x (B, H, Da)``, pre-sampled
    ``noises (K, B, H, Da)``, a small ``MLPDenoiser`` and a K-step sequential or Picard sampler."""
    from parapolicy.planners.base import presample_noise
    from parapolicy.planners.picard import PicardSampler
    from parapolicy.planners.sequential import SequentialSampler

    sch = schedules()[kind]
    g = torch.Generator().manual_seed(0)
    cond = torch.randn(B, Dc, generator=g) * 0.5  # (B, Dc)
    target = torch.rand(B, H, Da, generator=g) * 1.8 - 0.9  # (B, H, Da) old chunk, aligned
    x = torch.randn(B, H, Da, generator=g)  # (B, H, Da)
    noises = presample_noise(K, (B, H, Da), generator=g)  # (K, B, H, Da)
    sampler = PicardSampler(sch, steps=K, window=5, tol=0.0) if picard else SequentialSampler(sch, steps=K)
    return {"sch": sch, "cond": cond, "target": target, "x": x, "noises": noises,
            "net": MLPDenoiser(H, Da, Dc), "sampler": sampler, "K": K}
