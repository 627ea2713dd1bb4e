"""Picard iteration initialised from a distilled student's x0 estimate (amortized initialization).

The student maps the same initial noise to an x0 estimate in a few passes of its own network;
``amortized_trajectory`` turns that estimate into a whole initial Picard trajectory, and Picard refines
from there, so it starts near its fixed point and needs fewer passes. Menu spec
``picard-<sched><K>-p<P>[-tau<τ>][-look]-amortized-student[N]`` (``planners.menu``).
"""
from __future__ import annotations

from typing import Any

from torch import Tensor

from .amortized_init import amortized_trajectory
from .base import Budget, Deadline, Denoiser, Sampler, SampleResult
from .picard import PicardSampler


class StudentInitPicardSampler(Sampler):
    """Picard iteration whose whole initial trajectory is amortized from a student's x0 estimate.

    The student (a few sequential passes of its own network) maps the same initial noise to an x0
    estimate; ``amortized_trajectory`` rolls the sampler's chain toward it with the sampler's own
    pre-sampled noise, and Picard refines from there. ``nfe`` and ``depth`` include the student's.
    When no budget is left after the student, the student's x0 is returned (not converged).
    """

    def __init__(self, picard: PicardSampler, student: Sampler, student_denoiser: Denoiser, *,
                 name: str | None = None) -> None:
        super().__init__(picard.schedule, picard.timesteps, name=name or f"{picard.name}-amortized-{student.name}")
        self.picard = picard
        self.student = student
        self.student_denoiser = student_denoiser
        self.picard_depths: list[int] = []  # Picard passes of recent calls (student passes excluded)

    def expected_depth(self, start_index: int = 0) -> float:
        """Student steps plus Picard's expected passes."""
        return self.student.num_steps + self.picard.expected_depth(start_index)

    @property
    def calibrated(self) -> bool:
        """As its Picard part."""
        return self.picard.calibrated

    def rows_per_pass(self, start_index: int = 0) -> int:
        """Picard's window dominates the width."""
        return self.picard.rows_per_pass(start_index)

    def _run(self, denoiser: Denoiser, cond: Tensor, x_init: Tensor, start_index: int, noises: Tensor,
             deadline: Deadline, **kwargs: Any) -> SampleResult:
        if kwargs:
            raise ValueError(f"unknown StudentInitPicardSampler.sample arguments: {', '.join(kwargs)}")
        budget = deadline.remaining_budget() or Budget(max_nfe=1, clock=deadline.budget.clock)
        sres = self.student.sample(self.student_denoiser, cond, x_init=x_init, budget=budget)
        deadline.charge(sres.nfe, sres.depth, last_pass_s=sres.wall_s / max(sres.depth, 1))
        extra: dict[str, Any] = {"student_depth": sres.depth, "picard_depth": 0}
        left = deadline.remaining_budget()
        if left is None:
            return SampleResult(x0=sres.x0, nfe=deadline.nfe, depth=deadline.passes, wall_s=0.0,
                                converged=False, extra=extra)
        traj = amortized_trajectory(sres.x0, x_init, self.schedule, self.timesteps.to(x_init.device),
                                    start_index=start_index, noises=noises)  # (K+1, B, H, Da)
        pres = self.picard.sample(denoiser, cond, x_init=x_init, start_index=start_index, budget=left,
                                  noises=noises, init_trajectory=traj)
        deadline.charge(pres.nfe, pres.depth)
        self.picard_depths.append(pres.depth)
        extra.update(picard_depth=pres.depth, stop=pres.extra.get("stop"), advances=pres.extra.get("advances"))
        return SampleResult(x0=pres.x0, nfe=deadline.nfe, depth=deadline.passes, wall_s=0.0,
                            converged=pres.converged, extra=extra)
