"""A second-order multistep sampler for flow models: Adams–Bashforth 2 on the probability-flow ODE.

A flow model's sampler integrates dx/dt = v(x, t) from t = 1 (noise) to t = 0 (data). Euler takes
one velocity per step and is first-order: its error shrinks only linearly with the step size, and
on Push-T's keypoint model ten Euler steps land about 2.5× farther from the converged ODE than
twenty. Adams–Bashforth 2 reuses the previous step's velocity to extrapolate the velocity across the
current step, which makes it second-order at the same cost: one network call per step, so nfe =
depth = K as for Euler, and the cost model prices it the same way. On a non-uniform grid with step
``h = t_{i+1} - t_i`` and previous step ``h' = t_i - t_{i-1}`` (both negative), r = h / h':

    x_{i+1} = x_i + h · ((1 + r/2) · v_i - (r/2) · v_{i-1})

The first step (no history yet, also after a warm start) is an Euler step. The sampler is anytime
like every other: stopped early it takes one more AB2 step, from its last evaluated point straight to
t = 0, with the velocities it already has (Euler after a single call). That is exactly what a run
planned for those calls on the grid cut after their levels returns. On Push-T, AB2-5 stopped after
four calls scored 0.49 against 0.40 with the first-order estimate x_i - t_i · v_i (stop 30; four
planned calls: 0.73).
"""
from __future__ import annotations

from typing import Any

from torch import Tensor

from parapolicy.policies.schedules import FlowSchedule

from .base import Deadline, Denoiser, Sampler, SampleResult


class AdamsBashforth2Sampler(Sampler):
    """Flow ODE sampler with K steps of Adams–Bashforth 2 (one denoiser call per step)."""

    label = "ab2"

    def __init__(self, schedule: Any, timesteps: Tensor | None = None, **kwargs: Any) -> None:
        if not isinstance(schedule, FlowSchedule):
            raise ValueError(f"the Adams-Bashforth 2 sampler integrates a flow model's velocity; "
                             f"got a {type(schedule).__name__}")
        super().__init__(schedule, timesteps, **kwargs)

    def _run(self, denoiser: Denoiser, cond: Tensor, x_init: Tensor, start_index: int, noises: Tensor,
             deadline: Deadline, **kwargs: Any) -> SampleResult:
        if kwargs:
            raise ValueError(f"unknown AdamsBashforth2Sampler.sample arguments: {', '.join(kwargs)}")
        ts = self.timesteps.to(device=x_init.device, dtype=x_init.dtype)  # (K+1,)
        B = x_init.shape[0]
        x = x_init  # (B, H, Da) at level ts[start_index]
        v_prev: Tensor | None = None  # (B, H, Da) velocity of the previous step, taken at x_prev
        x_prev = x_init
        h_prev = 0.0
        done = 0
        v_older: Tensor | None = None  # (B, H, Da) the velocity one call before v_prev
        for i in range(start_index, self.num_steps):
            if done > 0 and not deadline.may_start_pass(1):
                x0 = self._cut_estimate(x_prev, v_prev, v_older, ts, i)
                return SampleResult(x0=x0, nfe=done, depth=done, wall_s=0.0,
                                    converged=False, extra={"steps": self.num_steps - start_index})
            t, t_next = ts[i], ts[i + 1]
            deadline.begin_pass()
            v = denoiser(x, t.expand(B), cond)  # (B, H, Da) velocity at (x, t)
            deadline.end_pass(1)
            x_prev = x
            h = float(t_next - t)
            x = _ab2_step(x, h, v, v_prev, h_prev)
            v_older, v_prev, h_prev = v_prev, v, h
            done += 1
        return SampleResult(x0=x, nfe=done, depth=done, wall_s=0.0, converged=True,
                            extra={"steps": self.num_steps - start_index})

    @staticmethod
    def _cut_estimate(x_last: Tensor, v_last: Tensor, v_older: Tensor | None, ts: Tensor, i: int) -> Tensor:
        """x0 of a run stopped before step ``i``: one Adams–Bashforth 2 step from the last evaluated
        point ``x_last`` (level ``ts[i-1]``) straight to t = 0 (Euler after a single call)."""
        h_last = float(ts[i - 1] - ts[i - 2]) if v_older is not None else 0.0  # the step that reached ts[i-1]
        return _ab2_step(x_last, float(-ts[i - 1]), v_last, v_older, h_last)


def _ab2_step(x: Tensor, h: float, v: Tensor, v_prev: Tensor | None, h_prev: float) -> Tensor:
    """x ``(B, H, Da)`` moved by a step ``h`` with velocity ``v`` at x and ``v_prev`` from the step
    before (of length ``h_prev``): Adams–Bashforth 2, or Euler without a previous velocity."""
    if v_prev is None:
        return x + h * v
    r = h / h_prev
    return x + h * ((1 + 0.5 * r) * v - 0.5 * r * v_prev)
