"""Fork-v0 environment and its scripted expert: API conformance, determinism, rules, expert quality."""
from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from parapolicy.envs import make_env
from parapolicy.envs.fork import ForkEnv
from parapolicy.envs.fork_expert import ForkExpert


def run_expert(env: gym.Env, expert: ForkExpert, seed: int) -> tuple[np.ndarray, dict]:
    """Roll the expert out for one episode; return the observations (T+1, 6) and the last info."""
    obs, info = env.reset(seed=seed)
    expert.reset(seed=seed)
    observations = [obs]
    while True:
        obs, _, terminated, truncated, info = env.step(expert.act(obs))
        observations.append(obs)
        if terminated or truncated:
            return np.stack(observations), info


@pytest.mark.parametrize("wrapped", [False, True])
def test_check_env(wrapped: bool) -> None:
    env = make_env("parapolicy/Fork-v0", render_mode="rgb_array") if wrapped else ForkEnv()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # check_env warns that a wrapped env is wrapped
        check_env(env)
    env.close()


def test_spaces() -> None:
    env = ForkEnv()
    assert env.action_space.shape == (2,) and env.action_space.dtype == np.float32
    assert env.observation_space.shape == (6,) and env.observation_space.dtype == np.float32
    obs, info = env.reset(seed=0)
    assert obs.dtype == np.float32 and env.observation_space.contains(obs)
    assert info["is_success"] is False


def test_reset_layout() -> None:
    env = ForkEnv()
    for seed in range(20):
        obs, _ = env.reset(seed=seed)
        assert abs(obs[0]) <= 0.1 and abs(obs[1] + 0.8) <= 0.05  # start below the obstacle
        assert abs(obs[4]) <= 0.1 and abs(obs[5] - 0.8) <= 0.05  # goal above it
        assert np.all(obs[2:4] == 0.0)


def test_deterministic_given_seed() -> None:
    actions = np.random.default_rng(0).uniform(-1, 1, size=(30, 2)).astype(np.float32)  # (30, 2)

    def trajectory(seed: int) -> np.ndarray:
        env = make_env("Fork-v0")
        obs, _ = env.reset(seed=seed)
        rows = [obs]
        for action in actions:
            obs, reward, terminated, truncated, _ = env.step(action)
            rows.append(np.append(obs, reward))
            if terminated or truncated:
                break
        return np.concatenate(rows)

    assert np.array_equal(trajectory(3), trajectory(3))
    assert not np.array_equal(trajectory(3), trajectory(4))


def test_nan_action_raises() -> None:
    env = ForkEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array([np.nan, 0.0], dtype=np.float32))
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(3, dtype=np.float32))


def test_actions_are_clipped() -> None:
    a, b = ForkEnv(), ForkEnv()
    a.reset(seed=1)
    b.reset(seed=1)
    obs_a = a.step(np.array([5.0, -7.0]))[0]
    obs_b = b.step(np.array([1.0, -1.0], dtype=np.float32))[0]
    assert np.array_equal(obs_a, obs_b)


def test_collision_terminates_as_failure() -> None:
    env = ForkEnv()
    env.reset(seed=0)
    for _ in range(30):
        obs, reward, terminated, truncated, info = env.step(np.array([0.0, 1.0], dtype=np.float32))
        if terminated:
            break
    assert terminated and info["collided"] and not info["is_success"]
    assert reward < 0
    assert np.linalg.norm(obs[:2]) < env.obstacle_radius + env.agent_radius + 0.02


def test_time_limit_is_80_steps() -> None:
    env = make_env("Fork-v0")
    env.reset(seed=0)
    for step in range(1, 81):
        _, _, terminated, truncated, _ = env.step(np.zeros(2, dtype=np.float32))
        assert not terminated
    assert truncated and step == 80


def test_render_rgb_array_headless() -> None:
    env = make_env("Fork-v0", render_mode="rgb_array", width=64, height=48)
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
    assert frame.std() > 5  # obstacle and goal drawn on the floor, not a blank image
    env.close()


def test_expert_succeeds_on_both_routes() -> None:
    env = make_env("Fork-v0")
    expert = ForkExpert(env)
    successes, routes = 0, set()
    for seed in range(10):
        _, info = run_expert(env, expert, seed)
        successes += info["is_success"]
        assert info["route"] == expert.mode
        routes.add(expert.mode)
    assert successes >= 9
    assert routes == {"left", "right"}


def test_expert_is_deterministic_and_in_bounds() -> None:
    env = ForkEnv()
    expert = ForkExpert(env, noise=0.1)
    first, _ = run_expert(env, expert, seed=5)
    again, _ = run_expert(env, expert, seed=5)
    assert np.array_equal(first, again)
    obs, _ = env.reset(seed=0)
    expert.reset(seed=0)
    action = expert.act(obs)
    assert action.dtype == np.float32 and env.action_space.contains(action)


def test_expert_forced_mode_and_options() -> None:
    env = ForkEnv()
    expert = ForkExpert(env, mode="left", noise=0.0)
    for seed in range(3):
        _, info = run_expert(env, expert, seed)
        assert expert.mode == "left" and info["route"] == "left" and info["is_success"]
    with pytest.raises(ValueError, match="allowed"):
        ForkExpert(env, speed=2)
    with pytest.raises(ValueError, match="mode"):
        ForkExpert(env, mode="middle")
