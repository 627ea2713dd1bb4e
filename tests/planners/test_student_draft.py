"""Student draft, teacher finish: the finish levels, the level routing, and the stitched chain."""
from __future__ import annotations

import pytest
import torch

from parapolicy.planners.base import Budget
from parapolicy.planners.sequential import SequentialSampler
from parapolicy.planners.student_draft import LevelRoutedDenoiser, draft_sampler, draft_sampler_at, finish_levels
from parapolicy.policies.schedules import DDIMSchedule, DDPMSchedule, FlowSchedule
from planner_helpers import MLPDenoiser

B, H, DA, DC = 3, 8, 2, 5


def test_finish_levels_flow_and_ddim():
    ts = finish_levels(FlowSchedule(100), torch.tensor(0.15), 4, time_power=2.0)
    want = torch.tensor([0.15 * (1 - k / 4) ** 2 for k in range(5)])
    torch.testing.assert_close(ts, want)
    assert ts[0].item() == torch.tensor(0.15).item()  # starts exactly at the handoff level
    torch.testing.assert_close(finish_levels(FlowSchedule(100), torch.tensor(0.5), 2), torch.tensor([0.5, 0.25, 0.0]))
    lv = finish_levels(DDIMSchedule(100), torch.tensor(49), 4)
    assert lv.tolist() == [49, 36, 24, 12, -1] and lv.dtype == torch.long
    assert finish_levels(DDIMSchedule(100), torch.tensor(3), 4).tolist() == [3, 2, 1, 0, -1]


@pytest.mark.parametrize("args,fragment", [
    ((DDIMSchedule(100), torch.tensor(3), 5), "do not fit below level 3"),
    ((DDIMSchedule(100), torch.tensor(49), 4, 2.0), "flow finish only"),
    ((DDPMSchedule(100), torch.tensor(49), 4), "must be deterministic"),
    ((DDIMSchedule(100, eta=1.0), torch.tensor(49), 4), "must be deterministic"),
    ((FlowSchedule(100), torch.tensor(1.0), 4), r"in \(0, 1\)"),
    ((FlowSchedule(100), torch.tensor(0.5), 0), "at least 1 step"),
])
def test_finish_levels_errors(args, fragment):
    with pytest.raises(ValueError, match=fragment):
        finish_levels(*args)


def test_router_sends_each_row_to_the_network_of_its_level():
    student, teacher = MLPDenoiser(H, DA, DC, seed=1, t_scale=1.0), MLPDenoiser(H, DA, DC, seed=2, t_scale=1.0)
    router = LevelRoutedDenoiser(student, teacher, 0.15)
    g = torch.Generator().manual_seed(0)
    x, c = torch.randn(B, H, DA, generator=g), torch.randn(B, DC, generator=g)  # (B, H, Da), (B, Dc)
    t = torch.tensor([1.0, 0.15, 0.05])  # noisier than the handoff, at it, below it
    out = router(x, t, c)
    torch.testing.assert_close(out[:1], student(x[:1], t[:1], c[:1]))
    torch.testing.assert_close(out[1:], teacher(x[1:], t[1:], c[1:]))
    router(x, torch.full((B,), 0.6), c)
    router(x, torch.full((B,), 0.15), c)
    assert router.calls == {"student": 2, "teacher": 2}


@pytest.mark.parametrize("kind", ["flow", "ddim"])
def test_draft_chain_is_the_students_steps_then_the_teachers_finish(kind):
    """The stitched chain equals running the student's first step to its middle level and then the
    teacher's own sampler over the finish levels from that state; nfe = 1 + K, split as routed."""
    sch = FlowSchedule(100) if kind == "flow" else DDIMSchedule(100)
    s_ts = torch.tensor([1.0, 0.15, 0.0]) if kind == "flow" else torch.tensor([99, 49, -1])
    scale = 1.0 if kind == "flow" else 100.0
    student, teacher = MLPDenoiser(H, DA, DC, seed=1, t_scale=scale), MLPDenoiser(H, DA, DC, seed=2, t_scale=scale)
    finish = finish_levels(sch, s_ts[1], 4, time_power=2.0 if kind == "flow" else 1.0)
    sampler = draft_sampler(sch, s_ts, 1, finish, name="draft")
    router = LevelRoutedDenoiser(student, teacher, float(s_ts[1]))
    g = torch.Generator().manual_seed(0)
    x, c = torch.randn(B, H, DA, generator=g), torch.randn(B, DC, generator=g)  # (B, H, Da), (B, Dc)
    res = sampler.sample(router, c, x_init=x, budget=Budget())
    assert res.converged and res.nfe == res.depth == 5 and router.calls == {"student": 1, "teacher": 4}
    mid = SequentialSampler(sch, s_ts[:2]).sample(student, c, x_init=x, budget=Budget()).x0  # the state at t_m
    want = SequentialSampler(sch, finish).sample(teacher, c, x_init=mid, budget=Budget()).x0
    torch.testing.assert_close(res.x0, want)
    plain = SequentialSampler(sch, s_ts).sample(student, c, x_init=x, budget=Budget()).x0  # the student alone
    assert (res.x0 - plain).abs().max() > 1e-3


def test_draft_is_anytime():
    """One pass allowed: the student's own x0 estimate from its first step comes back, not converged."""
    sch = FlowSchedule(100)
    s_ts = torch.tensor([1.0, 0.15, 0.0])
    student, teacher = MLPDenoiser(H, DA, DC, seed=1, t_scale=1.0), MLPDenoiser(H, DA, DC, seed=2, t_scale=1.0)
    sampler = draft_sampler(sch, s_ts, 1, finish_levels(sch, s_ts[1], 4))
    x, c = torch.randn(B, H, DA), torch.randn(B, DC)  # (B, H, Da), (B, Dc)
    res = sampler.sample(LevelRoutedDenoiser(student, teacher, 0.15), c, x_init=x, budget=Budget(max_nfe=1))
    assert not res.converged and res.nfe == 1
    v = student(x, torch.ones(B), c)
    torch.testing.assert_close(res.x0, x - v)  # flow: x0 = x_1 - 1·v


def test_draft_sampler_errors():
    sch = FlowSchedule(100)
    with pytest.raises(ValueError, match="no middle level"):
        draft_sampler(sch, torch.tensor([1.0, 0.0]), 1, torch.tensor([0.5, 0.0]))
    with pytest.raises(ValueError, match="not at the handoff level"):
        draft_sampler(sch, torch.tensor([1.0, 0.15, 0.0]), 1, torch.tensor([0.3, 0.0]))


def test_one_step_student_draft_handed_over_at_a_flow_time():
    """draft_sampler_at: a 1-step student's step from 1 to t_h lands on its x0 estimate re-noised with
    the same noise, t_h·z + (1 − t_h)·x̂0, and the teacher's one Euler step finishes from there: two
    calls, one per network."""
    sch = FlowSchedule(100)
    student, teacher = MLPDenoiser(H, DA, DC, seed=1, t_scale=1.0), MLPDenoiser(H, DA, DC, seed=2, t_scale=1.0)
    t_h = 0.05
    sampler = draft_sampler_at(sch, torch.tensor([1.0, 0.0]), finish_levels(sch, torch.tensor(t_h), 1))
    router = LevelRoutedDenoiser(student, teacher, t_h)
    g = torch.Generator().manual_seed(0)
    z, c = torch.randn(B, H, DA, generator=g), torch.randn(B, DC, generator=g)  # (B, H, Da), (B, Dc)
    res = sampler.sample(router, c, x_init=z, budget=Budget())
    assert res.converged and res.nfe == res.depth == 2 and router.calls == {"student": 1, "teacher": 1}
    x_hat = z - student(z, torch.ones(B), c)  # the student's x0
    x_h = t_h * z + (1 - t_h) * x_hat
    want = x_h - t_h * teacher(x_h, torch.full((B,), t_h), c)
    torch.testing.assert_close(res.x0, want)
    # a 2-step student (middle level 0.15) keeps its first step and hands over below it
    two = draft_sampler_at(sch, torch.tensor([1.0, 0.15, 0.0]), finish_levels(sch, torch.tensor(t_h), 2))
    torch.testing.assert_close(two.timesteps, torch.tensor([1.0, 0.15, 0.05, 0.025, 0.0]))
    with pytest.raises(ValueError, match="not below the student's first level"):
        draft_sampler_at(sch, torch.tensor([0.5, 0.0]), torch.tensor([0.6, 0.0]))
