"""Cascade: student first, teacher for the rows the student is unsure about."""
from __future__ import annotations

import pytest
import torch

from parapolicy.planners.base import Budget
from parapolicy.planners.cascade import CascadeSampler, calibrate
from parapolicy.planners.sequential import SequentialSampler
from planner_helpers import FakeClock, GaussianDenoiser, TimedDenoiser, schedules

torch.set_num_threads(1)
H, DA = 8, 2


def _case(seed: int, B: int = 8):
    """Half the conditions are confident (data std 0.02), half are not (std 0.8): the std is the
    last entry of cond, read by ``GaussianDenoiser(s="cond")``."""
    g = torch.Generator().manual_seed(seed)
    unsure = torch.arange(B) % 2 == 1  # (B,)
    s = torch.where(unsure, 0.8, 0.02).reshape(B, 1)  # (B, 1)
    cond = torch.cat([torch.randn(B, H * DA, generator=g) * 0.3, s], dim=1)  # (B, Dc)
    x = torch.randn(B, H, DA, generator=g)  # (B, H, Da)
    return cond, unsure, x


def _cascade(threshold: float, gen_seed: int = 0) -> tuple[CascadeSampler, GaussianDenoiser, GaussianDenoiser]:
    sch = schedules()["ddpm"]
    student_net = GaussianDenoiser(sch, H, DA, s="cond")
    teacher_net = GaussianDenoiser(sch, H, DA, s="cond")
    cas = CascadeSampler(SequentialSampler(sch, steps=4), student_net, SequentialSampler(sch, steps=20),
                         threshold=threshold, n_samples=4, generator=torch.Generator().manual_seed(gen_seed))
    return cas, student_net, teacher_net


def test_calibrated_cascade_escalates_the_unsure_rows() -> None:
    cas, student_net, teacher_net = _cascade(float("inf"))
    # held-out calibration: uncertainties of a mix, threshold between the two groups
    cond, unsure, x = _case(1, B=32)
    _, u, _ = cas.measure_uncertainty(cond, x)
    assert u[unsure].min() > 5 * u[~unsure].max()
    cas.threshold = calibrate(u, 0.5)
    # evaluation on fresh conditions
    cond, unsure, x = _case(2)
    res = cas.sample(teacher_net, cond, x_init=x)
    assert torch.equal(res.extra["escalated"], unsure)
    assert teacher_net.calls == 20 and teacher_net.rows == 20 * int(unsure.sum())
    assert cas.escalation_rate == pytest.approx(0.5)
    assert res.nfe == pytest.approx(4 * 4 + 20 * 0.5)  # 4 stacked student samples + teacher on half
    assert res.depth == 4 + 20 and res.converged


def test_confident_everywhere_never_escalates() -> None:
    cas, student_net, teacher_net = _cascade(0.1)
    cond, unsure, x = _case(3)
    cond[:, -1] = 0.02
    res = cas.sample(teacher_net, cond, x_init=x)
    assert not res.extra["escalated"].any() and teacher_net.calls == 0
    assert cas.escalation_rate == 0.0 and res.depth == 4


def test_reference_disagreement_uncertainty() -> None:
    sch = schedules()["ddpm"]
    net = GaussianDenoiser(sch, H, DA, 0.02)
    cas = CascadeSampler(SequentialSampler(sch, steps=4), net, SequentialSampler(sch, steps=10),
                         threshold=0.3, uncertainty="reference", n_samples=1)
    cond, _, x = _case(4, B=4)
    plan = net.mean(cond).clone()  # (B, H, Da) a plan that agrees with the student...
    plan[2] += 1.0  # ...except for row 2
    res = cas.sample(net, cond, x_init=x, reference=plan)
    assert res.extra["escalated"].tolist() == [False, False, True, False]
    res = cas.sample(net, cond, x_init=x)  # no plan to agree with: everything escalates
    assert res.extra["escalated"].all()


def test_no_escalation_without_budget_left() -> None:
    cas, student_net, teacher_net = _cascade(0.0)  # everything would escalate
    cond, _, x = _case(5)
    clock = FakeClock()
    timed_student = TimedDenoiser(student_net, clock, 0.01)
    cas.student_denoiser = timed_student
    res = cas.sample(teacher_net, cond, x_init=x, budget=Budget(wall_s=0.04, clock=clock))
    assert teacher_net.calls == 0 and res.extra["escalation_skipped"] and not res.converged
    assert res.x0.shape == x.shape


def test_cascade_bad_inputs() -> None:
    with pytest.raises(ValueError, match="quantile"):
        calibrate([0.1, 0.2], 1.5)
    with pytest.raises(ValueError, match="at least one"):
        calibrate([], 0.5)
    sch = schedules()["ddim"]
    s = SequentialSampler(sch, steps=2)
    with pytest.raises(ValueError, match="uncertainty"):
        CascadeSampler(s, GaussianDenoiser(sch, H, DA), s, uncertainty="entropy")
    with pytest.raises(ValueError, match="n_samples"):
        CascadeSampler(s, GaussianDenoiser(sch, H, DA), s, n_samples=1)
