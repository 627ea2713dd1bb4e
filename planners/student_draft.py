"""Student draft, teacher finish: a distilled student makes the noisy part of the chain, the teacher's
own network the last, fine part.

A 2-step student goes 1 → t_m → 0 in two calls. On Push-T its first step is as good as its teacher's
chain over the same span, and what it loses is in its one call from t_m to 0 (README, "Push-T
student"). This sampler keeps the student's first ``handoff`` steps (down to its level
``timesteps[handoff]``) and hands the sample over to the teacher's deterministic chain for the rest:
K steps from the handoff level to the terminal level, on the flow ρ-grid ``t_h·(1 - k/K)^ρ`` or on
DDIM levels evenly spaced below the handoff level. It is one sequential chain over the concatenated
levels, run by ``SequentialSampler`` with a denoiser that calls the student's network above the
handoff level and the teacher's at and below it, so the budget, the anytime x0 estimate and the
statistics are those of any sequential sampler: nfe = depth = handoff + K.

``draft_sampler_at`` hands over at any flow time below the student's first level instead, so a 1-step
student can draft too: its step from t = 1 to t_h re-noises its x0 estimate with the same noise, and
the teacher finishes from t_h (``draft-student1-flow1-at0.05``; stop 32 on Push-T: one teacher call
from t_h = 0.05 lifts the 1-step student from about 0.55 to 0.71, the teacher's 0.74).

This is amortized inference of the noisy steps only (as SDEdit starts a chain from a rough draft),
priced between the student (N calls) and the teacher's sampler. Measured on the 400-demo Push-T
keypoint model (videos/bench/pusht_student.md): the 2-step student's first step plus four teacher steps
scores as the teacher's own five steps on the same ρ = 2 grid (0.666 and 0.660 over 500 episodes), so
there the student's step is worth one teacher step and the draft buys nothing over ``flow5-rho2``.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from parapolicy.policies.schedules import DDIMSchedule, FlowSchedule

from .base import Denoiser
from .sequential import SequentialSampler


class LevelRoutedDenoiser:
    """Calls ``student`` for rows whose level is noisier than ``handoff`` and ``teacher`` for the others.

    Levels are flow times (floats) or DDPM level indices; "noisier" is ``t > handoff`` for both.
    ``calls`` counts the calls made to each network (one per call that has rows for it).
    """

    def __init__(self, student: Denoiser, teacher: Denoiser, handoff: float) -> None:
        self.student = student
        self.teacher = teacher
        self.handoff = float(handoff)
        self.calls = {"student": 0, "teacher": 0}

    def __call__(self, x_t: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        noisy = t.float() > self.handoff  # (B,)
        if bool(noisy.all()):
            self.calls["student"] += 1
            return self.student(x_t, t, cond)
        if not bool(noisy.any()):
            self.calls["teacher"] += 1
            return self.teacher(x_t, t, cond)
        out = torch.empty_like(x_t)  # (B, H, Da): rows at different levels (not made by a sequential chain)
        self.calls["student"] += 1
        self.calls["teacher"] += 1
        out[noisy] = self.student(x_t[noisy], t[noisy], cond[noisy])
        out[~noisy] = self.teacher(x_t[~noisy], t[~noisy], cond[~noisy])
        return out


def finish_levels(schedule: Any, handoff_level: Tensor, steps: int, time_power: float = 1.0) -> Tensor:
    """The teacher's K = ``steps`` levels from ``handoff_level`` down to the terminal level, ``(K+1,)``.

    Flow: times ``t_h·(1 - k/K)^ρ``. DDIM: integer levels evenly spaced from the handoff level down,
    then -1 (``time_power`` must be 1)."""
    if steps < 1:
        raise ValueError(f"the teacher's finish needs at least 1 step, got {steps}")
    if isinstance(schedule, FlowSchedule):
        t_h = float(handoff_level)
        if not 0 < t_h < 1:
            raise ValueError(f"the handoff time must lie in (0, 1), got {t_h}")
        u = torch.linspace(1.0, 0.0, steps + 1)  # (K+1,)
        return t_h * u.pow(float(time_power))
    if isinstance(schedule, DDIMSchedule) and getattr(schedule, "eta", 0.0) == 0.0:
        if time_power != 1:
            raise ValueError("a time power (rho) applies to a flow finish only")
        top = int(handoff_level)
        if steps > top + 1:
            raise ValueError(f"{steps} DDIM steps do not fit below level {top}: at most {top + 1}")
        ratio = (top + 1) / steps
        levels = [int(round(top - i * ratio)) for i in range(steps)]
        return torch.tensor(levels + [-1], dtype=torch.long)
    raise ValueError(f"the teacher's finish must be deterministic (flow or DDIM with eta = 0), "
                     f"not {type(schedule).__name__}")


def draft_sampler(student_schedule: Any, student_timesteps: Tensor, handoff: int, finish: Tensor, *,
                  name: str | None = None) -> SequentialSampler:
    """One sequential chain over the student's levels ``0 … handoff`` then the teacher's ``finish``
    levels (which start at the handoff level). Run it with a ``LevelRoutedDenoiser``."""
    ts = torch.as_tensor(student_timesteps)
    n = ts.numel() - 1
    if not 1 <= handoff < n:
        raise ValueError(f"a {n}-step student hands over after 1 to {n - 1} of its steps, got {handoff} "
                         "(a 1-step student has no middle level to hand over at)")
    if finish[0].item() != ts[handoff].item():
        raise ValueError(f"the finish starts at {finish[0].item()}, not at the handoff level {ts[handoff].item()}")
    levels = torch.cat([ts[:handoff + 1].to(finish.dtype), finish[1:]])  # (handoff + K + 1,)
    return SequentialSampler(student_schedule, levels, name=name)


def draft_sampler_at(student_schedule: Any, student_timesteps: Tensor, finish: Tensor, *,
                     name: str | None = None) -> SequentialSampler:
    """A flow draft handed over at the flow time ``finish[0]`` rather than at one of the student's
    levels: the student's levels above it, its own Euler step down to it (for a 1-step student,
    x_t = t·z + (1 − t)·x̂0, its x0 estimate re-noised with the same noise), then the teacher's
    ``finish``. Run it with a ``LevelRoutedDenoiser`` whose handoff is ``finish[0]``."""
    ts = torch.as_tensor(student_timesteps, dtype=torch.float32)
    t_h = float(finish[0])
    above = ts[ts > t_h]  # (j,) the student's levels noisier than the handoff
    if above.numel() == 0:
        raise ValueError(f"the handoff time {t_h} is not below the student's first level {float(ts[0])}")
    return SequentialSampler(student_schedule, torch.cat([above, finish.to(torch.float32)]), name=name)


__all__ = ["LevelRoutedDenoiser", "draft_sampler", "draft_sampler_at", "finish_levels"]
