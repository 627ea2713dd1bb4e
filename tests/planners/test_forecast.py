"""Observation forecaster: data windows, learning a known dynamics, files, and the executor's use of it."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from parapolicy.planners.async_executor import AsyncExecutor
from parapolicy.planners.cost_model import CostModel
from parapolicy.planners.forecast import (check_forecaster, fit_forecaster, forecast_windows, load_forecaster,
                                          save_forecaster)
from parapolicy.planners.realtime import RealtimePlanner, SamplerSpec
from planner_helpers import make_chunk_model, schedules

torch.set_num_threads(1)


def _integrator_episodes(n: int, T: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """obs = (x, y, 0.01·t): the first two integrate the action (a velocity); the third is a clock."""
    rng = np.random.default_rng(seed)
    eps = []
    for _ in range(n):
        a = np.cumsum(rng.normal(0, 0.3, (T, 2)), axis=0).astype(np.float32)  # smooth, wandering velocities
        pos = np.concatenate([np.zeros((1, 2)), np.cumsum(a, axis=0)[:-1]]).astype(np.float32) + rng.normal(0, 5, 2)
        obs = np.concatenate([pos, 0.01 * np.arange(T)[:, None]], axis=1).astype(np.float32)
        eps.append((obs, a))
    return eps


def test_windows_pad_history_and_actions() -> None:
    obs = np.arange(12, dtype=np.float32).reshape(6, 2)  # obs[t] = (2t, 2t + 1)
    act = 100 + np.arange(6, dtype=np.float32)[:, None]  # (6, 1)
    w = forecast_windows([(obs, act)], obs_horizon=2, max_delay=3)
    # t = 0..4, k = 1..min(3, 5 − t): 3 + 3 + 3 + 2 + 1 windows
    assert len(w["k"]) == 12 and w["hist"].shape == (12, 2, 2) and w["actions"].shape == (12, 3, 1)
    first = np.flatnonzero(w["k"] == 2)[0]  # t = 0, k = 2
    np.testing.assert_array_equal(w["hist"][first], obs[[0, 0]])  # the first frame repeated
    np.testing.assert_array_equal(w["actions"][first, :, 0], [100, 101, 0])  # zero-padded past k
    np.testing.assert_array_equal(w["target"][first], obs[2])
    last = len(w["k"]) - 1  # t = 4, k = 1
    np.testing.assert_array_equal(w["hist"][last], obs[[3, 4]])
    np.testing.assert_array_equal(w["target"][last], obs[5])


@pytest.fixture(scope="module")
def fitted():
    model, fit = fit_forecaster(_integrator_episodes(40, 60, 0), _integrator_episodes(8, 60, 1), obs_horizon=2,
                                max_delay=4, steps=1500, hidden=64, seed=0, env_id="toy")
    return model, fit


def test_learns_a_known_dynamics_far_better_than_the_stale_observation(fitted) -> None:
    _, fit = fitted
    rows = {r["k"]: r for r in fit["heldout"]}
    assert sorted(rows) == [1, 2, 3, 4] and fit["loss_last"] < 0.2 * fit["loss_first"]
    for r in rows.values():
        assert r["forecast_rmse"] < 0.25 * r["stale_rmse"], r
    assert rows[4]["stale_rmse"] > rows[1]["stale_rmse"]  # the stale error grows with k


def test_forecast_history_copies_the_present_and_forecasts_the_future(fitted) -> None:
    model, _ = fitted
    eps = _integrator_episodes(1, 12, 5)
    obs, act = eps[0]
    hist = obs[[4, 5]]  # (To = 2, Do) ending at t = 5
    np.testing.assert_array_equal(model.forecast_history(hist, act[:0]), hist)  # d = 0: nothing to forecast
    one = model.forecast_history(hist, act[5:6])  # d = 1: frames for t = 5 (known) and t = 6
    np.testing.assert_array_equal(one[0], hist[1])
    three = model.forecast_history(hist, act[5:8])  # d = 3: frames for t = 7 and t = 8
    true = obs[[7, 8]]
    assert np.abs(three - true)[:, :2].max() < 0.25 * np.abs(hist[1] - true)[:, :2].max()
    with pytest.raises(ValueError, match="at most 4 ticks ahead"):
        model.forecast_history(hist, act[:5])


def test_files_round_trip_and_refuse(fitted, tmp_path) -> None:
    model, fit = fitted
    out = save_forecaster(model, tmp_path / "fc", extra={"summary": {"steps": fit["steps"]}})
    again = load_forecaster(out)
    h, a, k = torch.randn(5, 2, 3), torch.randn(5, 4, 2), torch.tensor([1, 2, 3, 4, 1])
    torch.testing.assert_close(again.predict(h, a, k), model.predict(h, a, k))
    assert again.config == model.config
    with pytest.raises(FileExistsError):
        save_forecaster(model, out)
    with pytest.raises(ValueError, match="not a forecaster directory"):
        load_forecaster(tmp_path)
    with pytest.raises(ValueError, match="trained for Do=3, Da=2, To=2"):
        check_forecaster(model, obs_dim=3, action_dim=2, obs_horizon=3)
    with pytest.raises(ValueError, match="trained on toy"):
        check_forecaster(model, obs_dim=3, action_dim=2, obs_horizon=2, env_id="other")
    with pytest.raises(ValueError, match="must be an ObsForecaster"):
        check_forecaster(object(), action_dim=2, obs_horizon=2)


def _obs(k: int) -> np.ndarray:
    return np.array([np.sin(0.1 * k), np.cos(0.1 * k), 0.01 * k], dtype=np.float32)


@pytest.mark.parametrize("lead", [False, True])
def test_executor_plans_from_the_forecast_at_the_tick_the_chunk_starts(fitted, lead: bool) -> None:
    """delay 3: the chunk requested at n is planned from the forecast after the old chunk's actions at
    n … n + 2, starts at its own position offset at tick n + 3, and only the position before that is frozen."""
    model, _ = fitted
    cm = make_chunk_model(schedules()["ddim"])  # H=16, offset 1, Ta=8, Da=2, To=2
    planner = RealtimePlanner(cm, [SamplerSpec(kind="sequential", steps=10)], budget_ms=1000,
                              cost_model=CostModel(latency_s={1: 0.003, 16: 0.018}), seed=0, anytime=False)
    ex = AsyncExecutor(planner, mode="frozen", timing="simulated", delay=3, lead=lead, forecaster=model)
    seen = []
    plan = ex._plan

    def spy(req):  # the history each chunk is planned from, and what the forecaster says it should be
        old = ex._chunk
        committed = old.actions[1 + req.tick - old.t0:1 + req.tick - old.t0 + 3]  # (3, Da) at ticks n … n + 2
        seen.append((req.obs_hist[0], model.forecast_history(np.stack(ex._hist), committed), req))
        return plan(req)

    ex._plan = spy
    acts = np.stack([ex.act(_obs(k)) for k in range(50)])
    assert np.isfinite(acts).all() and ex.misses == 0
    for got, want, req in seen:
        np.testing.assert_allclose(got, want, rtol=1e-6)
        assert req.origin == req.tick + 3 and req.frozen == 1  # offset only: the committed ticks are before it
    requests = [r.request_tick for r in ex.records]
    assert [r.ready_tick for r in ex.records] == [t + 3 for t in requests]
    # with a lead a chunk is left after 8 actions, as without delay; without one after 8 + 3
    assert requests[:3] == ([5, 13, 21] if lead else [8, 19, 30])
    for r in ex.records:  # the one committed tick the new chunk covers (origin − 1) is kept
        assert r.committed_old.shape == (1, 2)
        np.testing.assert_allclose(r.committed_new, r.committed_old, atol=1e-5)
    assert ex.summary()["forecast"] is True


def test_wall_clock_forecast_never_switches_before_the_chunks_origin(fitted) -> None:
    """On the wall clock a forecast chunk that is ready early waits for the tick it was planned for;
    one that is late is entered further in; no tick goes without an action."""
    from parapolicy.planners.async_executor import run_paced
    from planner_helpers import MLPDenoiser, SleepyDenoiser

    model, _ = fitted
    net = SleepyDenoiser(MLPDenoiser(16, 2, 6), sleep_s=0.004)  # ≈ 40 ms a chunk: 2+ ticks at 50 Hz
    cm = make_chunk_model(schedules()["ddim"], denoiser=net)
    planner = RealtimePlanner(cm, [SamplerSpec(kind="sequential", steps=10)], budget_ms=1000,
                              cost_model=CostModel(latency_s={1: 0.003, 16: 0.018}), seed=0, anytime=False)
    ex = AsyncExecutor(planner, mode="frozen", timing="wall", control_hz=50.0, forecaster=model)
    origins = []
    plan = ex._plan
    ex._plan = lambda req: (origins.append((req.tick, req.origin)), plan(req))[1]
    try:
        run = run_paced(ex, _obs, ticks=80, control_hz=50.0)
    finally:
        ex.close()
    assert np.isfinite(run.actions).all() and ex.misses == 0 and len(ex.records) >= 4
    assert all(o > t for t, o in origins)  # each request forecast at least one tick ahead
    for r, (t, o) in zip(ex.records, origins):
        assert r.request_tick == t and r.ready_tick >= o
        np.testing.assert_allclose(r.committed_new[:1], r.committed_old[:1], atol=1e-5)
