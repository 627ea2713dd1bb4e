"""Adams–Bashforth 2 flow sampler: second-order accuracy against the exact ODE, anytime budgets, menu specs."""
from __future__ import annotations

import pytest
import torch

from parapolicy.planners.base import Budget
from parapolicy.planners.multistep import AdamsBashforth2Sampler
from parapolicy.planners.realtime import SamplerSpec
from parapolicy.planners.sequential import SequentialSampler
from parapolicy.policies.schedules import FlowSchedule
from planner_helpers import FakeClock, GaussianDenoiser, TimedDenoiser, make_chunk_model, schedules

torch.set_num_threads(1)
B, H, DA = 4, 8, 2
S = 0.2  # data std: a narrow action distribution bends the flow near t = 0, as trained policies' do


def _case():
    g = torch.Generator().manual_seed(0)
    cond = torch.randn(B, H * DA, generator=g)  # (B, Dc): the data mean
    x1 = torch.randn(B, H, DA, generator=g)  # (B, H, Da) noise at t = 1
    den = GaussianDenoiser(FlowSchedule(100), H, DA, s=S)
    # the probability-flow ODE of N(μ, s²) data maps x1 to μ + s·x1 (linear, marginal-preserving)
    exact = den.mean(cond) + S * x1  # (B, H, Da)
    return den, cond, x1, exact


def _error(sampler, den, cond, x1, exact) -> float:
    res = sampler.sample(den, cond, x_init=x1, budget=Budget())
    return float((res.x0 - exact).pow(2).mean().sqrt())


def test_ab2_is_second_order_where_euler_is_first() -> None:
    """Halving the step shrinks AB2's error about 4× (Euler's about 2×), and AB2 beats Euler at equal nfe."""
    den, cond, x1, exact = _case()
    sch = FlowSchedule(100, time_power=2.0)
    e_ab2 = [_error(AdamsBashforth2Sampler(sch, steps=k), den, cond, x1, exact) for k in (16, 32)]
    e_eul = [_error(SequentialSampler(sch, steps=k), den, cond, x1, exact) for k in (16, 32)]
    assert e_ab2[0] / e_ab2[1] > 3.2, e_ab2
    assert e_eul[0] / e_eul[1] < 2.5, e_eul
    assert e_ab2[0] < e_eul[0] / 3 and e_ab2[1] < e_eul[1] / 5


def test_ab2_nfe_depth_and_first_step_is_euler() -> None:
    """One call per step; with one step AB2 has no history and is exactly Euler; a warm start's first
    step from ``start_index`` is Euler too (it has no previous velocity)."""
    den, cond, x1, _ = _case()
    sch = FlowSchedule(100)
    res = AdamsBashforth2Sampler(sch, steps=6).sample(den, cond, x_init=x1, budget=Budget())
    assert (res.nfe, res.depth, res.converged, den.calls) == (6, 6, True, 6)
    one = AdamsBashforth2Sampler(sch, steps=1).sample(den, cond, x_init=x1, budget=Budget()).x0
    torch.testing.assert_close(one, SequentialSampler(sch, steps=1).sample(den, cond, x_init=x1, budget=Budget()).x0)
    ts = torch.tensor([1.0, 0.5, 0.2, 0.0])
    x_half = x1 * 0.5 + 0.5 * den.mean(cond)  # some state at t = 0.5
    warm = AdamsBashforth2Sampler(sch, ts).sample(den, cond, x_init=x_half, start_index=1, budget=Budget())
    v1 = den(x_half, torch.full((B,), 0.5), cond)
    x2 = x_half - 0.3 * v1  # Euler from 0.5 to 0.2
    v2 = den(x2, torch.full((B,), 0.2), cond)
    r = 0.2 / 0.3  # h / h_prev = (-0.2) / (-0.3)
    torch.testing.assert_close(warm.x0, x2 - 0.2 * ((1 + r / 2) * v2 - (r / 2) * v1))
    assert warm.depth == 2


def test_ab2_is_anytime_under_a_fake_clock() -> None:
    """The anticipating deadline holds and an x0 estimate comes back."""
    den, cond, x1, exact = _case()
    clock = FakeClock()
    timed = TimedDenoiser(den, clock, per_call_s=0.010)
    sampler = AdamsBashforth2Sampler(FlowSchedule(100), steps=20)
    res = sampler.sample(timed, cond, x_init=x1, budget=Budget(wall_s=0.055, clock=clock))
    assert not res.converged and res.depth == timed.calls == 5 and res.wall_s <= 0.055
    assert (res.x0 - exact).abs().max() < (x1 - exact).abs().max()  # an x0 estimate, not the noisy x_t
    capped = sampler.sample(den, cond, x_init=x1, budget=Budget(max_nfe=3))
    assert capped.nfe == capped.depth == 3 and not capped.converged


@pytest.mark.parametrize("calls", [1, 2, 4])
def test_a_cut_run_jumps_to_zero_with_the_same_rule(calls: int) -> None:
    """Stopped after k calls, AB2 returns what a k-call AB2 run does on the grid cut after its k-th
    level with the last step taken to t = 0: one more AB2 step (Euler after a single call), not
    x - t·v of the last call alone."""
    den, cond, x1, exact = _case()
    sampler = AdamsBashforth2Sampler(FlowSchedule(100, time_power=2.0), steps=6)
    cut = sampler.sample(den, cond, x_init=x1, budget=Budget(max_nfe=calls))
    ts = sampler.timesteps
    short = AdamsBashforth2Sampler(FlowSchedule(100), timesteps=torch.cat([ts[:calls], ts.new_zeros(1)]))
    planned = short.sample(den, cond, x_init=x1, budget=Budget())
    assert cut.nfe == planned.nfe == calls and not cut.converged and planned.converged
    torch.testing.assert_close(cut.x0, planned.x0)
    if calls > 1:  # the second-order jump lands closer than the first-order one from the same call
        last_x, last_v = _last_point(sampler, den, cond, x1, calls)
        euler = last_x - ts[calls - 1] * last_v
        assert (cut.x0 - exact).norm() < (euler - exact).norm()


def _last_point(sampler, den, cond, x1, calls: int):
    """The point of the k-th call and its velocity (recorded by wrapping the denoiser)."""
    seen = []

    def record(x, t, c):
        v = den(x, t, c)
        seen.append((x, v))
        return v

    sampler.sample(record, cond, x_init=x1, budget=Budget(max_nfe=calls))
    return seen[-1]


def test_ab2_refuses_a_noise_prediction_model() -> None:
    with pytest.raises(ValueError, match="integrates a flow model's velocity; got a DDPMSchedule"):
        AdamsBashforth2Sampler(schedules()["ddpm"], steps=10)


def test_ab2_menu_item() -> None:
    """``solver="ab2"`` builds the AB2 sampler on the ρ grid; it is named and refused off flow models
    and off sequential samplers in one line."""
    model = make_chunk_model(schedules()["flow"])
    item = SamplerSpec(kind="sequential", steps=6, time_power=2.5, solver="ab2").build(model)
    assert isinstance(item.sampler, AdamsBashforth2Sampler) and item.name == "flow6-rho2.5-ab2"
    torch.testing.assert_close(item.sampler.timesteps, torch.linspace(1, 0, 7).pow(2.5))
    with pytest.raises(ValueError, match="integrates a flow model's velocity"):
        SamplerSpec(kind="sequential", steps=6, solver="ab2").build(make_chunk_model(schedules()["ddpm"]))
    with pytest.raises(ValueError, match="the ab2 solver runs a sequential sampler, not picard"):
        SamplerSpec(kind="picard", steps=6, solver="ab2")
    with pytest.raises(ValueError, match="unknown solver 'rk4'; allowed: euler, ab2"):
        SamplerSpec(kind="sequential", steps=6, solver="rk4")
