"""Noise schedules: the pure math of diffusion and flow-matching policies.

A schedule is a frozen dataclass with no hidden step counter. Every function is vectorized over a
per-row timestep tensor ``t`` of shape ``(B,)``, so a Picard sampler can advance a whole window of
denoising steps (each row at its own level) in one call.

Time conventions
----------------
* DDPM / DDIM: integer levels ``t ∈ {0, …, T-1}`` (stored in a float or long tensor). ``t_prev = -1``
  means "the clean sample", i.e. ``ᾱ = 1``.
* Flow (rectified flow): continuous ``t ∈ [0, 1]``; ``t = 1`` is pure noise, ``t = 0`` is data;
  ``x_t = (1 - t)·x0 + t·ε`` and the network predicts the velocity ``v = ε - x0``.

``timesteps(K)`` returns the ``K + 1`` levels a K-step sampler visits, noisiest first, ending in the
terminal level (``-1`` or ``0``); step ``i`` goes from ``ts[i]`` to ``ts[i + 1]``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

import torch
from torch import Tensor


class StepOutput(NamedTuple):
    """Result of one denoising step: the sample at ``t_prev`` and the current estimate of x0."""

    prev: Tensor  # (B, H, Da)
    x0_hat: Tensor  # (B, H, Da)


class Schedule(Protocol):
    """What samplers need from a schedule (DDPM, DDIM and flow all implement it)."""

    num_train_steps: int
    prediction: str  # "epsilon" or "velocity": what the network outputs

    def add_noise(self, x0: Tensor, noise: Tensor, t: Tensor) -> Tensor: ...

    def training_target(self, x0: Tensor, noise: Tensor, t: Tensor) -> Tensor: ...

    def sample_train_t(self, batch: int, *, generator: torch.Generator | None = None,
                       device: torch.device | str = "cpu") -> Tensor: ...

    def timesteps(self, num_steps: int) -> Tensor: ...

    def step(self, model_out: Tensor, t: Tensor, t_prev: Tensor, x_t: Tensor,
             noise: Tensor | None = None) -> StepOutput: ...

    def step_std(self, t: Tensor, t_prev: Tensor) -> Tensor: ...

    def network_time(self, t: Tensor) -> Tensor: ...


def _expand(v: Tensor, like: Tensor) -> Tensor:
    """Broadcast a per-row vector ``(B,)`` against a tensor ``(B, ...)``."""
    return v.reshape(v.shape[0], *([1] * (like.dim() - 1))).to(like.dtype)


def squared_cosine_alphas_cumprod(num_steps: int, s: float = 0.008, max_beta: float = 0.999) -> Tensor:
    """ᾱ_t for the squared-cosine schedule (Nichol & Dhariwal 2021), betas capped at ``max_beta``."""

    def f(u: float) -> float:
        return math.cos((u + s) / (1 + s) * math.pi / 2) ** 2

    betas = [min(1 - f((i + 1) / num_steps) / f(i / num_steps), max_beta) for i in range(num_steps)]
    return torch.cumprod(1.0 - torch.tensor(betas, dtype=torch.float64), dim=0)  # (T,)


@dataclass(frozen=True)
class DDPMSchedule:
    """DDPM with ε-prediction and ancestral sampling (posterior q(x_{t_prev} | x_t, x0))."""

    num_train_steps: int = 100
    clip_sample: bool = True
    clip_range: float = 1.0
    prediction: str = "epsilon"
    alphas_cumprod: Tensor = field(init=False, repr=False, compare=False)  # (T,) float64

    def __post_init__(self) -> None:
        if self.num_train_steps < 1:
            raise ValueError(f"num_train_steps must be >= 1, got {self.num_train_steps}")
        object.__setattr__(self, "alphas_cumprod", squared_cosine_alphas_cumprod(self.num_train_steps))

    # -- tables ---------------------------------------------------------------------------------
    def alpha_bar(self, t: Tensor) -> Tensor:
        """ᾱ at integer levels ``t`` (``-1`` → 1.0); float64, shape of ``t``."""
        idx = t.long()
        table = self.alphas_cumprod.to(t.device)
        out = table[idx.clamp(min=0)]
        return torch.where(idx < 0, torch.ones_like(out), out)

    # -- training -------------------------------------------------------------------------------
    def add_noise(self, x0: Tensor, noise: Tensor, t: Tensor) -> Tensor:
        """Forward process: x_t = √ᾱ_t·x0 + √(1-ᾱ_t)·ε (``t = -1`` returns x0)."""
        ab = _expand(self.alpha_bar(t), x0)
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise

    def training_target(self, x0: Tensor, noise: Tensor, t: Tensor) -> Tensor:
        """ε-prediction: the network is trained to output the noise."""
        return noise

    def sample_train_t(self, batch: int, *, generator: torch.Generator | None = None,
                       device: torch.device | str = "cpu") -> Tensor:
        """Uniform integer training levels, shape ``(batch,)``."""
        return torch.randint(0, self.num_train_steps, (batch,), generator=generator).to(device)

    def network_time(self, t: Tensor) -> Tensor:
        """The value fed to the network's step embedding (the integer level itself)."""
        return t.float()

    # -- sampling -------------------------------------------------------------------------------
    def timesteps(self, num_steps: int) -> Tensor:
        """``num_steps + 1`` levels from T-1 down to -1, evenly spaced (``num_steps ≤ T``)."""
        if not 1 <= num_steps <= self.num_train_steps:
            raise ValueError(f"num_steps must be in [1, {self.num_train_steps}], got {num_steps}")
        ratio = self.num_train_steps / num_steps
        ts = [int(round(self.num_train_steps - 1 - i * ratio)) for i in range(num_steps)]
        return torch.tensor(ts + [-1], dtype=torch.long)

    def predict_x0(self, eps: Tensor, t: Tensor, x_t: Tensor) -> Tensor:
        """x0 estimate from an ε prediction, clipped to the data range when ``clip_sample``."""
        ab = _expand(self.alpha_bar(t), x_t)
        x0 = (x_t - (1 - ab).sqrt() * eps) / ab.sqrt()
        if self.clip_sample:
            x0 = x0.clamp(-self.clip_range, self.clip_range)
        return x0

    def posterior(self, x0: Tensor, x_t: Tensor, t: Tensor, t_prev: Tensor) -> tuple[Tensor, Tensor]:
        """Mean and std of q(x_{t_prev} | x_t, x0) for any ``t_prev < t``."""
        ab_t = self.alpha_bar(t)
        ab_p = self.alpha_bar(t_prev)
        alpha = ab_t / ab_p  # ᾱ_t / ᾱ_{t_prev}: the effective single-step α
        beta = 1 - alpha
        c0 = ab_p.sqrt() * beta / (1 - ab_t)
        ct = alpha.sqrt() * (1 - ab_p) / (1 - ab_t)
        var = (1 - ab_p) / (1 - ab_t) * beta
        mean = _expand(c0, x_t) * x0 + _expand(ct, x_t) * x_t
        return mean, _expand(var.clamp(min=0).sqrt(), x_t)

    def step(self, model_out: Tensor, t: Tensor, t_prev: Tensor, x_t: Tensor,
             noise: Tensor | None = None) -> StepOutput:
        """Ancestral step t → t_prev; ``noise`` (same shape as x_t) is the pre-sampled z (None = mean)."""
        x0 = self.predict_x0(model_out, t, x_t)
        mean, std = self.posterior(x0, x_t, t, t_prev)
        prev = mean if noise is None else mean + std * noise
        return StepOutput(prev=prev, x0_hat=x0)

    def step_std(self, t: Tensor, t_prev: Tensor) -> Tensor:
        """Std of the step's injected noise, shape ``(B,)`` (Picard's convergence scale)."""
        ab_t = self.alpha_bar(t)
        ab_p = self.alpha_bar(t_prev)
        beta = 1 - ab_t / ab_p
        return ((1 - ab_p) / (1 - ab_t) * beta).clamp(min=0).sqrt().float()


@dataclass(frozen=True)
class DDIMSchedule(DDPMSchedule):
    """DDIM over the same trained DDPM noise levels; deterministic at ``eta = 0`` (the default).

    With ``eta = 1`` and the same noise the step equals the DDPM ancestral step.
    """

    eta: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.eta <= 1.0:
            raise ValueError(f"eta must be in [0, 1], got {self.eta}")

    def step(self, model_out: Tensor, t: Tensor, t_prev: Tensor, x_t: Tensor,
             noise: Tensor | None = None) -> StepOutput:
        """Step t → t_prev; ``noise`` is used only when ``eta > 0``."""
        ab_t = _expand(self.alpha_bar(t), x_t)
        ab_p = _expand(self.alpha_bar(t_prev), x_t)
        x0 = self.predict_x0(model_out, t, x_t)
        eps = (x_t - ab_t.sqrt() * x0) / (1 - ab_t).sqrt()  # consistent with the clipped x0
        sigma = self.eta * _expand(super().step_std(t, t_prev).to(torch.float64), x_t)
        prev = ab_p.sqrt() * x0 + (1 - ab_p - sigma**2).clamp(min=0).sqrt() * eps
        if noise is not None and self.eta > 0:
            prev = prev + sigma * noise
        return StepOutput(prev=prev.to(x_t.dtype), x0_hat=x0)

    def step_std(self, t: Tensor, t_prev: Tensor) -> Tensor:
        """Picard's convergence scale: the DDPM posterior std between the two levels (as ParaDiGMS)."""
        return super().step_std(t, t_prev)


@dataclass(frozen=True)
class FlowSchedule:
    """Rectified flow with velocity prediction and an Euler sampler.

    ``time_power`` ρ places a K-step sampler's times at ``t_k = (1 - k/K)^ρ``: ρ = 1 is the uniform
    grid; ρ > 1 packs the steps toward the data end (t → 0), where a flow trained on narrow
    action distributions bends most (the same idea as EDM's ρ-spaced noise levels). It changes
    sampling only, never training.
    """

    num_train_steps: int = 100  # only sets the scale of the network's time embedding
    prediction: str = "velocity"
    clip_sample: bool = False
    time_power: float = 1.0  # ρ of the sampling grid (see the class docstring)

    def __post_init__(self) -> None:
        rho = self.time_power
        if isinstance(rho, bool) or not isinstance(rho, (int, float)) or not math.isfinite(rho) or rho <= 0:
            raise ValueError(f"a flow grid's time power must be a number > 0, got {rho!r}")

    def add_noise(self, x0: Tensor, noise: Tensor, t: Tensor) -> Tensor:
        """x_t = (1 - t)·x0 + t·ε."""
        tt = _expand(t.float(), x0)
        return (1 - tt) * x0 + tt * noise

    def training_target(self, x0: Tensor, noise: Tensor, t: Tensor) -> Tensor:
        """Velocity v = ε - x0 (constant along the straight path)."""
        return noise - x0

    def sample_train_t(self, batch: int, *, generator: torch.Generator | None = None,
                       device: torch.device | str = "cpu") -> Tensor:
        """Uniform continuous training times in [0, 1], shape ``(batch,)``."""
        return torch.rand((batch,), generator=generator).to(device)

    def network_time(self, t: Tensor) -> Tensor:
        """Scale t ∈ [0, 1] to the step-embedding range used by DDPM networks."""
        return t.float() * self.num_train_steps

    def timesteps(self, num_steps: int) -> Tensor:
        """``num_steps + 1`` times from 1 down to 0: uniform, raised to ``time_power``."""
        if num_steps < 1:
            raise ValueError(f"num_steps must be >= 1, got {num_steps}")
        u = torch.linspace(1.0, 0.0, num_steps + 1)  # (K+1,)
        return u if self.time_power == 1 else u.pow(float(self.time_power))

    def step(self, model_out: Tensor, t: Tensor, t_prev: Tensor, x_t: Tensor,
             noise: Tensor | None = None) -> StepOutput:
        """Euler step t → t_prev along the predicted velocity; ``noise`` is ignored."""
        tt = _expand(t.float(), x_t)
        dt = _expand((t_prev - t).float(), x_t)
        x0 = x_t - tt * model_out
        return StepOutput(prev=x_t + dt * model_out, x0_hat=x0)

    def step_std(self, t: Tensor, t_prev: Tensor) -> Tensor:
        """Convergence scale for Picard: the noise level at the step's end (floored)."""
        return t_prev.float().clamp(min=1e-2)


SCHEDULES = {"ddpm": DDPMSchedule, "ddim": DDIMSchedule, "flow": FlowSchedule}


def make_schedule(name: str, num_train_steps: int = 100) -> DDPMSchedule | FlowSchedule:
    """Build a schedule by sampler name (``ddpm``, ``ddim`` or ``flow``)."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown sampler {name!r}; allowed: {', '.join(SCHEDULES)}")
    return SCHEDULES[name](num_train_steps=num_train_steps)
