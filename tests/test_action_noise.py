"""DART noise injection: the env executes perturbed actions, the demonstrations keep the expert's."""
from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from parapolicy.envs import make_env
from parapolicy.envs.action_noise import ActionNoise
from parapolicy.envs.fork_expert import ForkExpert
from parapolicy.planners.rollout import run_episode


class _Recorder(gym.Wrapper):
    """Remembers the actions the inner env was stepped with."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.executed: list[np.ndarray] = []

    def step(self, action):
        self.executed.append(np.asarray(action).copy())
        return self.env.step(action)


def test_executed_actions_are_noisy_and_recorded_ones_are_the_experts() -> None:
    inner = _Recorder(make_env("Fork-v0"))
    env = ActionNoise(inner, 0.1)
    expert = ForkExpert(env, seed=0)
    rec = run_episode(env, expert, seed=3)
    executed = np.asarray(inner.executed)  # (T, Da)
    assert executed.shape == rec.actions.shape
    diff = executed - rec.actions
    clipped = np.isclose(np.abs(executed), 1.0)
    free = diff[~clipped]
    assert np.all(np.abs(executed) <= 1.0 + 1e-6)  # clipped to the space
    # sigma = 0.1 * half-range (1.0): the unclipped residuals look like that Gaussian
    assert 0.06 < free.std() < 0.14 and abs(free.mean()) < 0.05
    # the expert answers the states it actually reached: a clean run from the same seed differs
    clean = run_episode(make_env("Fork-v0"), ForkExpert(make_env("Fork-v0"), seed=0), seed=3)
    n = min(len(clean.obs), len(rec.obs))
    assert not np.allclose(clean.obs[1:n], rec.obs[1:n])


def test_noise_is_reproducible_per_seed_and_zero_scale_is_identity() -> None:
    env = ActionNoise(make_env("Fork-v0"), 0.05)
    a = np.zeros(2, dtype=np.float32)
    env.reset(seed=11)
    first = [env.action(a) for _ in range(5)]
    env.reset(seed=11)
    again = [env.action(a) for _ in range(5)]
    env.reset(seed=12)
    other = [env.action(a) for _ in range(5)]
    assert np.array_equal(np.stack(first), np.stack(again))
    assert not np.array_equal(np.stack(first), np.stack(other))
    quiet = ActionNoise(make_env("Fork-v0"), 0.0)
    quiet.reset(seed=1)
    x = np.array([0.3, -0.7], dtype=np.float32)
    assert np.array_equal(quiet.action(x), x)


def test_pusht_scale_is_relative_to_the_half_range() -> None:
    env = ActionNoise(make_env("PushT-v0"), 0.02)
    env.reset(seed=0)
    centre = np.full(2, 256.0, dtype=np.float32)
    draws = np.stack([env.action(centre) for _ in range(4000)]) - centre  # (N, 2) px
    assert draws.std() == pytest.approx(0.02 * 256.0, rel=0.08)


@pytest.mark.parametrize("scale", [-0.1, 1.5, float("nan")])
def test_bad_scale_is_refused(scale: float) -> None:
    with pytest.raises(ValueError, match="action noise scale"):
        ActionNoise(make_env("Fork-v0"), scale)


def test_unbounded_action_space_is_refused() -> None:
    class Unbounded(gym.Env):
        action_space = gym.spaces.Box(-np.inf, np.inf, shape=(2,))
        observation_space = gym.spaces.Box(-1, 1, shape=(1,))

    with pytest.raises(ValueError, match="bounded"):
        ActionNoise(Unbounded(), 0.1)
