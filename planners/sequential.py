"""The plain sequential sampler (DDPM ancestral, DDIM-K, flow Euler-K) under a budget.

It wraps the policies package's one sequential loop, ``parapolicy.policies.sampling.denoise``, rather
than copying it: the budget becomes ``denoise``'s ``should_stop`` hook, and a thin wrapper around the
denoiser times each network pass for the deadline's anticipation. nfe = depth = steps done. A
distilled student is this sampler with the student's timesteps and network.
"""
from __future__ import annotations

from typing import Any

from torch import Tensor

from parapolicy.policies.sampling import denoise

from .base import Deadline, Denoiser, Sampler, SampleResult


class _PassTimer:
    """Wraps a denoiser: each call is one pass on the deadline (one row per environment)."""

    def __init__(self, denoiser: Denoiser, deadline: Deadline) -> None:
        self.denoiser = denoiser
        self.deadline = deadline

    def __call__(self, x_t: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        self.deadline.begin_pass()
        out = self.denoiser(x_t, t, cond)
        self.deadline.end_pass(1)
        return out


class SequentialSampler(Sampler):
    """One denoiser call per step, K steps (``timesteps`` or ``steps``) for any schedule."""

    label = "sequential"

    def _run(self, denoiser: Denoiser, cond: Tensor, x_init: Tensor, start_index: int, noises: Tensor,
             deadline: Deadline, **kwargs: Any) -> SampleResult:
        if kwargs:
            raise ValueError(f"unknown SequentialSampler.sample arguments: {', '.join(kwargs)}")
        timed = _PassTimer(denoiser, deadline)
        out = denoise(timed, self.schedule, x_init, cond, self.timesteps.to(x_init.device),
                      start_index=start_index, noises=noises,
                      should_stop=lambda _i: not deadline.may_start_pass(1))
        steps = int(out.steps_done)
        return SampleResult(x0=out.x0, nfe=steps, depth=steps, wall_s=0.0, converged=bool(out.completed),
                            extra={"steps": self.num_steps - start_index})
