"""Budgets: validation, fake-clock deadlines, NFE caps — every sampler is anytime."""
from __future__ import annotations

import math

import pytest
import torch

from parapolicy.planners.base import Budget, presample_noise
from parapolicy.planners.picard import PicardSampler
from parapolicy.planners.sequential import SequentialSampler
from planner_helpers import FakeClock, GaussianDenoiser, TimedDenoiser, schedules

torch.set_num_threads(1)
B, H, DA = 2, 8, 2


@pytest.mark.parametrize("wall", [0, -1.0, float("nan"), "1", None, True])
def test_budget_rejects_bad_wall(wall: object) -> None:
    with pytest.raises(ValueError, match="wall_s"):
        Budget(wall_s=wall)  # type: ignore[arg-type]


@pytest.mark.parametrize("nfe", [0, -3, 2.5, True])
def test_budget_rejects_bad_max_nfe(nfe: object) -> None:
    with pytest.raises(ValueError, match="max_nfe"):
        Budget(max_nfe=nfe)  # type: ignore[arg-type]


def test_budget_defaults_and_deadline() -> None:
    clock = FakeClock()
    b = Budget(wall_s=1.0, clock=clock)
    d = b.start()
    assert d.remaining_s() == 1.0 and not d.expired()
    clock.advance(1.5)
    assert d.expired() and d.remaining_s() == pytest.approx(-0.5)
    assert math.isinf(Budget().wall_s) and Budget().max_nfe is None


def _setup(kind: str, K: int):
    sch = schedules()[kind]
    g = torch.Generator().manual_seed(0)
    cond = torch.randn(B, H * DA, generator=g)  # (B, Dc)
    x = torch.randn(B, H, DA, generator=g)  # (B, H, Da)
    noises = presample_noise(K, (B, H, DA), generator=g)  # (K, B, H, Da)
    return sch, cond, x, noises


@pytest.mark.parametrize("make", [
    lambda sch: SequentialSampler(sch, steps=50),
    lambda sch: PicardSampler(sch, steps=50, window=4, tol=0.0),
])
def test_fake_clock_deadline_holds(make) -> None:
    sch, cond, x, noises = _setup("ddpm", 50)
    clock = FakeClock()
    den = TimedDenoiser(GaussianDenoiser(sch, H, DA), clock, per_call_s=0.010)
    res = make(sch).sample(den, cond, x_init=x, noises=noises, budget=Budget(wall_s=0.055, clock=clock))
    assert not res.converged
    assert res.wall_s <= 0.055  # anticipating deadline: the next pass would not have fit
    assert res.depth == den.calls == 5
    assert res.x0.shape == (B, H, DA) and torch.isfinite(res.x0).all()
    assert res.x0.abs().max() <= 1.0  # an x0 estimate (clipped to the data range), not a noisy x_t


def test_tiny_budget_still_returns_an_estimate_after_one_pass() -> None:
    sch, cond, x, noises = _setup("flow", 50)
    clock = FakeClock()
    den = TimedDenoiser(GaussianDenoiser(sch, H, DA), clock, per_call_s=1.0)
    res = SequentialSampler(sch, steps=50).sample(den, cond, x_init=x, noises=noises,
                                                  budget=Budget(wall_s=1e-3, clock=clock))
    assert res.depth == 1 and not res.converged and torch.isfinite(res.x0).all()


@pytest.mark.parametrize("kind", ["ddpm", "ddim", "flow"])
def test_max_nfe_respected(kind: str) -> None:
    sch, cond, x, noises = _setup(kind, 30)
    den = GaussianDenoiser(sch, H, DA)
    res = SequentialSampler(sch, steps=30).sample(den, cond, x_init=x, noises=noises, budget=Budget(max_nfe=7))
    assert res.nfe == res.depth == 7 and not res.converged
    res = PicardSampler(sch, steps=30, window=4).sample(den, cond, x_init=x, noises=noises, budget=Budget(max_nfe=7))
    assert res.nfe <= 7
    full = SequentialSampler(sch, steps=30).sample(den, cond, x_init=x, noises=noises, budget=Budget(max_nfe=30))
    assert full.converged and full.nfe == 30


def test_sampler_input_validation() -> None:
    sch, cond, x, noises = _setup("ddim", 10)
    s = SequentialSampler(sch, steps=10)
    den = GaussianDenoiser(sch, H, DA)
    with pytest.raises(ValueError, match="start_index"):
        s.sample(den, cond, x_init=x, start_index=10)
    with pytest.raises(ValueError, match="x_init"):
        s.sample(den, cond, x_init=x[0])
    with pytest.raises(ValueError, match="noises"):
        s.sample(den, cond, x_init=x, noises=noises[:3])
    with pytest.raises(ValueError, match="budget"):
        s.sample(den, cond, x_init=x, budget=0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="steps"):
        SequentialSampler(sch, steps=0)
