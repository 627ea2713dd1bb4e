"""Cascade: answer with a cheap student, escalate to the teacher only when the student is unsure.

For every environment row the cascade runs the student sampler ``n_samples`` times with different
noise (all samples stacked into one batch, so it costs the student's depth, not n times it) and
measures its uncertainty as the RMS spread of those samples around their mean; given a ``reference``
plan (e.g. the warm-started previous chunk) it instead/also measures the RMS disagreement with it.
Rows whose uncertainty exceeds ``threshold`` are re-sampled by the teacher sampler — only those rows,
and only within the budget left after the student (the teacher gets a ``Budget`` of what remains and
is itself anytime). The threshold comes from ``calibrate(held_out_uncertainties, quantile)``: with
quantile q, about (1 − q) of in-distribution situations escalate. ``escalation_rate`` tracks the
fraction of rows escalated so far.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import torch
from torch import Tensor

from .base import Budget, Deadline, Denoiser, Sampler, SampleResult, presample_noise

UNCERTAINTY_KINDS = ("spread", "reference", "max")


def calibrate(uncertainties: Sequence[float] | Tensor, quantile: float) -> float:
    """Escalation threshold: the ``quantile`` of uncertainties measured on held-out data."""
    u = torch.as_tensor(uncertainties, dtype=torch.float64).reshape(-1)
    if u.numel() == 0:
        raise ValueError("calibrate needs at least one held-out uncertainty")
    if not bool(torch.isfinite(u).all()):
        raise ValueError("calibrate: held-out uncertainties must be finite")
    if isinstance(quantile, bool) or not isinstance(quantile, numbers.Real) or not 0.0 <= quantile <= 1.0:
        raise ValueError(f"quantile must be a number in [0, 1], got {quantile!r}")
    return float(torch.quantile(u, float(quantile)))


class CascadeSampler(Sampler):
    """Student first, teacher on the uncertain rows.

    ``student``: a Sampler for the student's timesteps; ``student_denoiser``: its network (the
    denoiser passed to ``sample`` is the teacher's). ``teacher``: the teacher Sampler (its timesteps,
    ``start_index`` and ``x_init`` are the cascade's). ``uncertainty``: ``spread`` (student samples'
    RMS spread), ``reference`` (RMS distance to ``sample(..., reference=plan)``; without a plan every
    row escalates) or ``max`` of both.
    """

    def __init__(self, student: Sampler, student_denoiser: Denoiser, teacher: Sampler, *,
                 threshold: float = math.inf, n_samples: int = 4, uncertainty: str = "spread",
                 generator: torch.Generator | None = None, name: str | None = None) -> None:
        if uncertainty not in UNCERTAINTY_KINDS:
            raise ValueError(f"unknown uncertainty {uncertainty!r}; allowed: {', '.join(UNCERTAINTY_KINDS)}")
        if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}")
        if uncertainty in ("spread", "max") and n_samples < 2:
            raise ValueError("the 'spread' uncertainty needs n_samples >= 2")
        if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or math.isnan(threshold):
            raise ValueError(f"threshold must be a number, got {threshold!r}")
        super().__init__(teacher.schedule, teacher.timesteps, generator=generator,
                         name=name or f"cascade[{student.name}->{teacher.name}]")
        self.student = student
        self.student_denoiser = student_denoiser
        self.teacher = teacher
        self.threshold = float(threshold)
        self.n_samples = int(n_samples)
        self.uncertainty = uncertainty
        self.rows_seen = 0
        self.rows_escalated = 0

    @property
    def escalation_rate(self) -> float:
        """Fraction of environment rows escalated to the teacher so far (0 before any call)."""
        return self.rows_escalated / self.rows_seen if self.rows_seen else 0.0

    def expected_depth(self, start_index: int = 0) -> float:
        """Student depth plus the teacher's depth weighted by the escalation rate seen so far."""
        return self.student.expected_depth() + self.escalation_rate * self.teacher.expected_depth(start_index)

    def rows_per_pass(self, start_index: int = 0) -> int:
        """The student's stacked samples dominate the width."""
        return self.n_samples * self.student.rows_per_pass()

    def measure_uncertainty(self, cond: Tensor, x_init: Tensor, *, reference: Tensor | None = None,
                            budget: Budget = Budget(), generator: torch.Generator | None = None
                            ) -> tuple[Tensor, Tensor, SampleResult]:
        """Run the student: returns ``(x0 (B, H, Da), uncertainty (B,), student result)``.

        Sample 0 starts from ``x_init`` (when it is at the student's first level, i.e. pure noise);
        the others from fresh noise.
        """
        B = x_init.shape[0]
        n = self.n_samples if self.uncertainty != "reference" else 1
        gen = generator or self.generator
        extra = torch.randn(((n - 1) * B, *x_init.shape[1:]), generator=gen, dtype=x_init.dtype)  # ((n-1)·B, H, Da)
        xs = torch.cat([x_init, extra.to(x_init.device)], dim=0)  # (n·B, H, Da), row i·B+b = sample i of env b
        conds = cond.repeat(n, *([1] * (cond.dim() - 1)))  # (n·B, Dc)
        noises = presample_noise(self.student.num_steps, tuple(xs.shape), generator=gen,
                                 dtype=xs.dtype, device=xs.device)  # (Ks, n·B, H, Da)
        res = self.student.sample(self.student_denoiser, conds, x_init=xs, budget=budget, noises=noises)
        samples = res.x0.reshape(n, B, *x_init.shape[1:])  # (n, B, H, Da)
        x0 = samples[0]
        u_spread = samples.std(dim=0, unbiased=True).pow(2).flatten(1).mean(1).sqrt() if n > 1 else None  # (B,)
        u_ref = None
        if reference is not None:
            u_ref = (x0 - reference.to(x0)).pow(2).flatten(1).mean(1).sqrt()  # (B,)
        if self.uncertainty == "spread":
            u = u_spread
        elif self.uncertainty == "reference":
            # no plan to agree with (e.g. the first chunk of an episode): maximally uncertain
            u = u_ref if u_ref is not None else torch.full((B,), math.inf, dtype=x0.dtype)
        else:
            u = u_spread if u_ref is None else torch.maximum(u_spread, u_ref)
        res.nfe = res.nfe * n  # rows per environment
        return x0, u, res

    def _run(self, denoiser: Denoiser, cond: Tensor, x_init: Tensor, start_index: int, noises: Tensor,
             deadline: Deadline, reference: Tensor | None = None, **kwargs: Any) -> SampleResult:
        if kwargs:
            raise ValueError(f"unknown CascadeSampler.sample arguments: {', '.join(kwargs)}")
        B = x_init.shape[0]
        student_budget = deadline.remaining_budget() or Budget(max_nfe=1, clock=deadline.budget.clock)
        x_student_init = x_init if start_index == 0 else torch.randn(
            x_init.shape, generator=self.generator, dtype=x_init.dtype).to(x_init.device)  # (B, H, Da)
        x0, u, sres = self.measure_uncertainty(cond, x_student_init, reference=reference,
                                               budget=student_budget)
        deadline.charge(sres.nfe, sres.depth, last_pass_s=sres.wall_s / max(sres.depth, 1))
        escalate = u > self.threshold  # (B,)
        idx = escalate.nonzero().reshape(-1)
        self.rows_seen += B
        converged = sres.converged
        tres = None
        skipped = False
        if idx.numel():
            tbudget = deadline.remaining_budget()
            if tbudget is None:
                skipped = True
                converged = False  # uncertain rows kept the student's answer
            else:
                tres = self.teacher.sample(denoiser, cond[idx], x_init=x_init[idx], start_index=start_index,
                                           budget=tbudget, noises=noises[:, idx])
                x0 = x0.clone()
                x0[idx] = tres.x0
                deadline.charge(tres.nfe * idx.numel() / B, tres.depth)
                converged = converged and tres.converged
                self.rows_escalated += int(idx.numel())
        return SampleResult(x0=x0, nfe=deadline.nfe, depth=deadline.passes, wall_s=0.0, converged=converged,
                            extra={"uncertainty": u, "escalated": escalate if not skipped else
                                   torch.zeros_like(escalate), "escalation_skipped": skipped,
                                   "student": sres, "teacher": tres,
                                   "escalation_rate": self.escalation_rate})
