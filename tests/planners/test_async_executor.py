"""Asynchronous executor: never a tick without an action; the committed prefix is kept."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from parapolicy.planners.async_executor import AsyncExecutor, lead_horizon, run_paced
from parapolicy.planners.cost_model import CostModel
from parapolicy.planners.realtime import RealtimePlanner, SamplerSpec
from planner_helpers import MLPDenoiser, SleepyDenoiser, make_chunk_model, schedules

torch.set_num_threads(1)
CPU = CostModel(latency_s={1: 0.003, 16: 0.018})


def _planner(model, steps: int = 10) -> RealtimePlanner:
    return RealtimePlanner(model, [SamplerSpec(kind="sequential", steps=steps)], budget_ms=1000, cost_model=CPU,
                           seed=0, anytime=False)


def _obs(k: int) -> np.ndarray:
    return np.array([np.sin(0.1 * k), np.cos(0.1 * k), 0.01 * k], dtype=np.float32)


@pytest.mark.parametrize("kind", ["ddpm", "ddim", "flow"])
@pytest.mark.parametrize("mode", ["frozen", "guided", "pigdm"])
def test_simulated_delay_keeps_committed_prefix(kind: str, mode: str) -> None:
    model = make_chunk_model(schedules()[kind])  # H=16, Ta=8, To=2 → offset 1
    ex = AsyncExecutor(_planner(model), mode=mode, timing="simulated", delay=3)
    acts = [ex.act(_obs(k)) for k in range(60)]
    assert len(acts) == 60 and np.isfinite(np.stack(acts)).all()
    assert ex.misses == 0 and len(ex.records) == 7
    for r in ex.records:
        assert r.delay_actual == r.delay_est == 3 and r.frozen == 1 + 3 and not r.late
        assert r.committed_old.shape == (3, 2)
        np.testing.assert_allclose(r.committed_new, r.committed_old, atol=1e-5)
    assert [r.request_tick for r in ex.records] == [8, 16, 24, 32, 40, 48, 56]


@pytest.mark.parametrize("mode", ["naive", "frozen"])
def test_switch_jump_is_the_action_change_at_switch_ticks(mode: str) -> None:
    model = make_chunk_model(schedules()["flow"])
    ex = AsyncExecutor(_planner(model), mode=mode, timing="simulated", delay=3)
    acts = np.stack([ex.act(_obs(k)) for k in range(60)])  # (60, Da)
    change = np.linalg.norm(np.diff(acts, axis=0), axis=1)  # (59,) change at ticks 1..59
    switches = [r.ready_tick for r in ex.records]
    assert switches == [11, 19, 27, 35, 43, 51, 59]  # requested every 8 ticks from tick 8, 3 ticks late
    np.testing.assert_allclose([r.switch_jump for r in ex.records], change[np.array(switches) - 1], rtol=1e-6)
    others = np.delete(change, np.array(switches) - 1)
    st = ex.summary()
    np.testing.assert_allclose(st["step_mean"], others.mean(), rtol=1e-6)
    np.testing.assert_allclose(st["switch_jump_ratio"], change[np.array(switches) - 1].mean() / others.mean(),
                               rtol=1e-6)
    ex.reset(seed=1)  # a new episode starts without a previous action: its first tick is no step
    ex.act(_obs(0))
    assert ex.summary()["step_mean"] == st["step_mean"]


def test_naive_switch_does_not_keep_prefix() -> None:
    model = make_chunk_model(schedules()["ddim"])
    ex = AsyncExecutor(_planner(model), mode="naive", timing="simulated", delay=3)
    for k in range(30):
        ex.act(_obs(k))
    assert any(np.abs(r.committed_new - r.committed_old).max() > 1e-3 for r in ex.records)


def test_simulated_delay_from_cost_model() -> None:
    model = make_chunk_model(schedules()["ddim"])
    ex = AsyncExecutor(_planner(model), timing="simulated", control_hz=100.0)  # 10 × 3 ms = 30 ms → d = 3
    for k in range(30):
        ex.act(_obs(k))
    assert all(r.delay_est == 3 for r in ex.records) and ex.misses == 0


def test_wall_clock_slow_model_never_leaves_a_tick_without_action() -> None:
    sch = schedules()["ddim"]
    net = SleepyDenoiser(MLPDenoiser(16, 2, 6), sleep_s=0.01)  # ≈ 100 ms for 10 steps
    model = make_chunk_model(sch, denoiser=net)
    ex = AsyncExecutor(_planner(model), mode="guided", timing="wall", control_hz=50.0)  # 20 ms ticks
    try:
        run = run_paced(ex, _obs, ticks=60, control_hz=50.0)
    finally:
        ex.close()
    assert run.actions.shape == (60, 2) and np.isfinite(run.actions).all()
    # act() never waited for a (≈100 ms) inference after the first chunk; the margin absorbs a loaded machine
    assert max(run.tick_s[1:]) < 0.06
    assert len(ex.records) >= 3
    for r in ex.records:
        d = min(r.delay_est, len(r.committed_old))
        np.testing.assert_allclose(r.committed_new[:d], r.committed_old[:d], atol=1e-5)


def test_wall_clock_too_slow_model_holds_and_counts_misses() -> None:
    """A chunk that takes ≈ 30 ticks arrives after the old chunk (and its own first positions) ran out:
    the executor holds the last action, counts the misses, and installs the late chunk without error."""
    sch = schedules()["ddim"]
    net = SleepyDenoiser(MLPDenoiser(16, 2, 6), sleep_s=0.03)  # ≈ 300 ms per chunk at 100 Hz control
    model = make_chunk_model(sch, denoiser=net)
    ex = AsyncExecutor(_planner(model), mode="frozen", timing="wall", control_hz=100.0)
    try:
        run = run_paced(ex, _obs, ticks=100, control_hz=100.0)
    finally:
        ex.close()
    assert run.actions.shape == (100, 2) and np.isfinite(run.actions).all()
    assert max(run.tick_s[1:]) < 0.1  # never waited for a ≈300 ms inference
    assert ex.misses > 0 and ex.ticks == 100
    late = [r for r in ex.records if r.delay_actual > model.pred_horizon]
    assert late and all(len(r.committed_old) == len(r.committed_new) for r in ex.records)
    held = [k for k in range(1, 100) if np.array_equal(run.actions[k], run.actions[k - 1])]
    assert len(held) >= ex.misses - 1


def test_executor_validation() -> None:
    model = make_chunk_model(schedules()["ddim"])  # H=16, offset 1, Ta=8
    p = _planner(model)
    with pytest.raises(ValueError, match="larger than the chunk"):
        AsyncExecutor(p, timing="wall", delay=8)
    with pytest.raises(ValueError, match="d <= s"):
        AsyncExecutor(p, timing="simulated", delay=5, execute_every=4)
    with pytest.raises(ValueError, match="unknown RTC mode"):
        AsyncExecutor(p, mode="soft")
    with pytest.raises(ValueError, match="unknown timing"):
        AsyncExecutor(p, timing="gpu")
    with pytest.raises(ValueError, match="delay"):
        AsyncExecutor(p, delay=-1)
    with pytest.raises(ValueError, match="control_hz"):
        AsyncExecutor(p, control_hz=0)
    with pytest.raises(ValueError, match="one environment"):
        AsyncExecutor(p).act(np.zeros((2, 3), dtype=np.float32))


def _menu_planner(model, budget_ms: float = 100.0) -> RealtimePlanner:
    menu = [SamplerSpec(kind="sequential", steps=10), SamplerSpec(kind="sequential", steps=2)]  # 30 ms, 6 ms
    return RealtimePlanner(model, menu, budget_ms=budget_ms, cost_model=CPU, seed=0, anytime=False)


def _chosen(ex: AsyncExecutor, ticks: int = 40) -> list[str]:
    for k in range(ticks):
        ex.act(_obs(k))
    return [r.name for r in ex.records]


def test_delay_limit_picks_the_faster_item_when_the_better_one_would_arrive_too_late() -> None:
    model = make_chunk_model(schedules()["ddim"])  # H=16, offset 1, Ta=8
    free = AsyncExecutor(_menu_planner(model), timing="simulated", control_hz=100.0)  # 10 ms ticks
    assert set(_chosen(free)) == {"ddim10"} and free.delay_limited == 0
    assert all(r.delay_est == 3 for r in free.records)  # 30 ms predicted → 3 ticks
    tight = AsyncExecutor(_menu_planner(model), timing="simulated", control_hz=100.0, max_delay=1)
    assert set(_chosen(tight)) == {"ddim2"}  # 30 ms > 0.8 × 10 ms; 6 ms fits one tick
    assert all(r.delay_est == 1 for r in tight.records)
    assert tight.delay_limited == len(tight.records) > 0 and tight.summary()["max_delay"] == 1
    # without max_delay the old chunk's remaining ticks still cap the delay: s = 13 leaves 2 (20 ms)
    short = AsyncExecutor(_menu_planner(model), timing="simulated", control_hz=100.0, execute_every=13)
    assert set(_chosen(short)) == {"ddim2"} and short.misses == 0 and short.delay_limited > 0
    # a simulated run is decided by the cost model alone, whatever the wall clock has observed
    slow = _menu_planner(model)
    slow._cost_ratios.append((0.03, 4.0))  # as if the host had slowed 4× since the cost model was measured
    assert slow.choose()[0].name == "ddim2"  # 120 ms > 0.8 × 100 ms: a wall-clock choice follows the host
    assert set(_chosen(AsyncExecutor(slow, timing="simulated", control_hz=100.0))) == {"ddim10"}


def test_delay_limit_falls_back_to_fastest_with_one_warning() -> None:
    model = make_chunk_model(schedules()["ddim"])
    ex = AsyncExecutor(_menu_planner(model), timing="simulated", control_hz=1000.0, max_delay=1)  # 1 ms
    with pytest.warns(UserWarning, match="delay limit"):
        names = _chosen(ex)
    assert set(names) == {"ddim2"}


def test_max_delay_validation() -> None:
    p = _planner(make_chunk_model(schedules()["ddim"]))
    for bad in (0, -2, 1.5, True, "1"):
        with pytest.raises(ValueError, match="max_delay must be"):
            AsyncExecutor(p, max_delay=bad)
    with pytest.raises(ValueError, match="give one of them"):
        AsyncExecutor(p, timing="simulated", delay=2, max_delay=1)


def test_lead_horizon() -> None:
    assert [lead_horizon(8, d) for d in (0, 1, 2, 3, 4, 5, 7)] == [8, 7, 6, 5, 4, 5, 7]
    assert lead_horizon(3, 4) == 4 and lead_horizon(1, 0) == 1


@pytest.mark.parametrize("mode", ["naive", "frozen", "guided"])
def test_lead_switches_where_an_undelayed_executor_would(mode: str) -> None:
    """With a lead each chunk is requested d ticks early, so it is left after Ta = 8 actions (as at
    d = 0) and every executed action comes from positions offset + d … offset + 7 of its chunk."""
    model = make_chunk_model(schedules()["ddim"])  # H=16, offset 1, Ta=8
    ex = AsyncExecutor(_planner(model), mode=mode, timing="simulated", delay=3, lead=True)
    acts = [ex.act(_obs(k)) for k in range(60)]
    assert np.isfinite(np.stack(acts)).all() and ex.misses == 0
    assert [r.request_tick for r in ex.records] == [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55]
    assert [r.ready_tick for r in ex.records] == [8, 13, 18, 23, 28, 33, 38, 43, 48, 53, 58]
    starts = [0] + [r.request_tick for r in ex.records]  # the tick each chunk's position offset belongs to
    assert all(r.ready_tick - t0 == 8 for r, t0 in zip(ex.records, starts))  # left after 8 actions
    if mode != "naive":
        for r in ex.records:
            np.testing.assert_allclose(r.committed_new, r.committed_old, atol=1e-5)
    assert ex.summary()["lead"] is True
    plain = AsyncExecutor(_planner(model), mode=mode, timing="simulated", delay=3)
    for k in range(60):
        plain.act(_obs(k))
    assert len(plain.records) == 7 < len(ex.records)  # the price: more chunks per tick


def test_lead_follows_the_cost_models_delay_and_lets_d_exceed_s() -> None:
    model = make_chunk_model(schedules()["ddim"])
    ex = AsyncExecutor(_planner(model), timing="simulated", control_hz=100.0, lead=True)  # 30 ms → d = 3
    for k in range(30):
        ex.act(_obs(k))
    assert [r.request_tick for r in ex.records][:3] == [5, 10, 15] and ex.misses == 0
    with pytest.raises(ValueError, match="d <= s"):  # without a lead d = 4 exceeds s = 3 ...
        AsyncExecutor(_planner(model), timing="simulated", delay=4, execute_every=3)
    ex = AsyncExecutor(_planner(model), timing="simulated", delay=4, execute_every=3, lead=True)
    for k in range(30):  # ... with one the worker runs back to back: a request every 4 ticks
        ex.act(_obs(k))
    assert [r.request_tick for r in ex.records][:3] == [4, 8, 12] and ex.misses == 0
    with pytest.raises(ValueError, match="lead must be"):
        AsyncExecutor(_planner(model), lead="yes")
    with pytest.raises(ValueError, match="larger than the chunk"):  # 1 + max(8, 0) + 8 > 16
        AsyncExecutor(_planner(model), timing="simulated", delay=8, lead=True)


def test_wall_clock_lead_requests_early_by_the_observed_delay() -> None:
    """On the wall clock the lead is the delay recent chunks took: a ≈50 ms chunk at 50 Hz arrives 3+
    ticks after its request, so once one was observed the executor asks for the next after
    max(d, 8 − d) < 8 actions (without a lead: after 8, then switches d ticks later)."""
    net = SleepyDenoiser(MLPDenoiser(16, 2, 6), sleep_s=0.005)
    model = make_chunk_model(schedules()["ddim"], denoiser=net)
    gaps = {}
    for lead in (False, True):
        ex = AsyncExecutor(_planner(model), mode="frozen", timing="wall", control_hz=50.0, lead=lead)
        try:
            run_paced(ex, _obs, ticks=80, control_hz=50.0)
        finally:
            ex.close()
        recs = ex.records
        assert len(recs) >= 4 and ex.misses == 0 and ex.summary()["lead"] is lead
        assert all(r.delay_actual >= 2 for r in recs)  # the sleeps alone take 2.5 ticks
        gaps[lead] = [b.request_tick - a.request_tick for a, b in zip(recs, recs[1:])]
    assert all(g >= 8 for g in gaps[False]), gaps
    assert all(g < 8 for g in gaps[True][1:]), gaps
