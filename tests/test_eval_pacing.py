"""parapolicy-eval's StatusPolicy paces a wall-clock async executor at its control rate."""
from __future__ import annotations

import numpy as np

from parapolicy.scripts.eval import StatusPolicy


class _FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, dt: float) -> None:
        self.sleeps.append(dt)
        self.now += dt


class _FakeExecutor:
    """Looks like an AsyncExecutor to StatusPolicy: one env, no ``choose``, a timing and a rate."""

    def __init__(self, timing: str) -> None:
        self.timing, self.control_hz = timing, 50.0
        self.resets = 0

    def reset(self, *, seed: int | None = None) -> None:
        self.resets += 1

    def act(self, obs: np.ndarray) -> np.ndarray:
        return np.zeros(2, np.float32)


def test_wall_clock_executor_is_paced_and_restarts_at_reset() -> None:
    clk = _FakeClock()
    sp = StatusPolicy(_FakeExecutor("wall"), clock=clk, sleep=clk.sleep)
    sp.reset(seed=0)
    for _ in range(3):
        clk.now += 0.005  # the env step takes 5 ms of the 20 ms tick
        assert sp.act(np.zeros((1, 4), np.float32)).shape == (1, 2)
    # first tick at once, then waits fill each 20 ms period
    assert np.allclose(clk.sleeps, [0.015, 0.015])
    sp.reset(seed=1)
    clk.now += 1.0
    sp.act(np.zeros((1, 4), np.float32))
    assert len(clk.sleeps) == 2  # a new episode's first tick does not wait for the old schedule


def test_simulated_delay_executor_is_not_paced() -> None:
    clk = _FakeClock()
    sp = StatusPolicy(_FakeExecutor("simulated"), clock=clk, sleep=clk.sleep)
    sp.reset(seed=0)
    for _ in range(3):
        sp.act(np.zeros((1, 4), np.float32))
    assert clk.sleeps == []
