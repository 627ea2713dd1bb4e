"""Tests for the Push-T task (envs/pusht*.py): API conformance, exact coverage, rendering, expert."""
from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import parapolicy.envs  # noqa: F401  (registers the tasks)
from parapolicy.envs import pusht_geometry as geom
from parapolicy.envs.pusht import PushTEnv, keypoint_observation
from parapolicy.envs.pusht_expert import PushTExpert

GOAL = np.array(geom.GOAL_POSE)


def _shift_local(pose: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """The pose moved by (dx, dy) expressed in the T's own frame."""
    moved = pose.copy()
    moved[:2] += geom.rotation(pose[2]) @ np.array([dx, dy])
    return moved


def test_check_env_unwrapped_and_registered() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(PushTEnv())
        check_env(PushTEnv(render_mode="rgb_array", width=64, height=64))
        env = gym.make("parapolicy/PushT-v0")
        check_env(env.unwrapped)
        check_env(env)
    assert env.spec is not None and env.spec.max_episode_steps == 300


def test_deterministic_given_seed_and_actions() -> None:
    actions = np.random.default_rng(0).uniform(0, 512, size=(40, 2)).astype(np.float32)
    runs = []
    for _ in range(2):
        env = gym.make("parapolicy/PushT-v0")
        obs, _ = env.reset(seed=123)
        trace = [obs]
        for a in actions:
            trace.append(env.step(a)[0])
        runs.append(np.array(trace))
    np.testing.assert_array_equal(runs[0], runs[1])
    other, _ = gym.make("parapolicy/PushT-v0").reset(seed=124)
    assert not np.array_equal(other, runs[0][0])


def test_coverage_is_exact() -> None:
    assert geom.T_AREA == 6300.0
    assert geom.coverage(GOAL) == pytest.approx(1.0, abs=1e-12)
    for d in (1.0, 5.0, 12.5, 29.0):
        # sliding along the bar loses d x (30 + 90); sliding along the stem loses d x 120 as well
        expected = 1.0 - 120.0 * d / 6300.0
        assert geom.coverage(_shift_local(GOAL, d, 0.0)) == pytest.approx(expected, abs=1e-9)
        assert geom.coverage(_shift_local(GOAL, 0.0, -d)) == pytest.approx(expected, abs=1e-9)
    assert geom.coverage(np.array([60.0, 60.0, 0.0])) == 0.0
    poses = np.array([GOAL, _shift_local(GOAL, 10.0, 0.0), [60.0, 60.0, 0.0]])
    np.testing.assert_allclose(geom.coverages(poses), [1.0, 1 - 1200 / 6300, 0.0], atol=1e-9)


def test_pose_conversions_round_trip() -> None:
    env = PushTEnv()
    state = [100.0, 400.0, 300.0, 200.0, 2.5]
    obs, info = env.reset(options={"reset_to_state": state})
    np.testing.assert_allclose(obs, np.array(state, dtype=np.float32), atol=1e-3)
    assert info["coverage"] == pytest.approx(geom.coverage(state[2:]), abs=1e-9)
    # the observed angle is wrapped around the goal angle
    obs, _ = env.reset(options={"reset_to_state": [100.0, 400.0, 300.0, 200.0, -3.0]})
    assert obs[4] == pytest.approx(-3.0 + 2 * np.pi, abs=1e-5)
    assert env.observation_space.contains(obs)


def test_reward_termination_and_info() -> None:
    env = PushTEnv()
    env.reset(options={"reset_to_state": [60.0, 60.0, *GOAL]})
    obs, reward, terminated, truncated, info = env.step(np.array([60.0, 60.0], dtype=np.float32))
    assert set(info) >= {"coverage", "is_success"}
    assert info["coverage"] > 0.99 and info["is_success"] is True
    assert terminated is True and truncated is False and reward == 1.0

    near = _shift_local(GOAL, 20.0, 0.0)
    env.reset(options={"reset_to_state": [60.0, 60.0, *near]})
    _, reward, terminated, _, info = env.step(np.array([60.0, 60.0], dtype=np.float32))
    assert info["coverage"] == pytest.approx(1 - 2400 / 6300, abs=1e-3)
    assert reward == pytest.approx(info["coverage"] / 0.95)
    assert terminated is False and info["is_success"] is False


def test_actions_are_clipped_and_nan_rejected() -> None:
    env = PushTEnv()
    env.reset(seed=0)
    obs, *_ = env.step(np.array([1e6, -1e6], dtype=np.float32))
    assert np.all(np.isfinite(obs)) and env.observation_space.contains(obs)
    with pytest.raises(ValueError, match="NaN"):
        env.step(np.array([np.nan, 10.0], dtype=np.float32))
    with pytest.raises(ValueError, match="reset_to_state"):
        env.reset(options={"reset_to_state": [1.0, 2.0]})


def test_render_shape_and_goal_outline() -> None:
    with pytest.raises(ValueError, match="even"):
        PushTEnv(render_mode="rgb_array", width=255)
    env = PushTEnv(render_mode="rgb_array", width=128, height=96)
    env.reset(options={"reset_to_state": [60.0, 60.0, 420.0, 100.0, 0.0]})
    image = env.render()
    assert image.shape == (96, 128, 3) and image.dtype == np.uint8
    env.close()

    env = PushTEnv(render_mode="rgb_array", width=256, height=256)
    env.reset(options={"reset_to_state": [60.0, 60.0, 420.0, 100.0, 0.0]})
    image = env.render().astype(int)
    # a point on the goal's stem, in image pixels (rows grow with y): it is drawn green
    col, row = (geom.local_to_world(GOAL, np.array([0.0, 80.0])) * 256 / 512).astype(int)
    r, g, b = image[row, col]
    assert g > r + 40 and g > b + 40, (r, g, b)
    # the pusher (blue) is where the observation says
    col, row = (np.array([60.0, 60.0]) * 256 / 512).astype(int)
    r, g, b = image[row, col]
    assert b > r + 60 and b > g + 40, (r, g, b)
    env.close()


def test_expert_solves_seeded_episodes() -> None:
    env = gym.make("parapolicy/PushT-v0")
    expert = PushTExpert(env, seed=0)
    successes = 0
    for seed in (0, 1, 2):
        obs, _ = env.reset(seed=seed)
        expert.reset(seed=seed)
        done = False
        while not done:
            action = expert.act(obs)
            assert action.dtype == np.float32 and env.action_space.contains(action)
            obs, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
        successes += info["is_success"]
        assert expert.mode.split("-")[0] in {"cw", "ccw"} and expert.mode.split("-")[1] in {"left", "right"}
    assert successes >= 2


def test_keypoint_observation_is_the_t_corners() -> None:
    rng = np.random.default_rng(0)
    states = np.column_stack([rng.uniform(0, 512, (6, 4)), rng.uniform(-2.3, 3.9, 6)])  # (6, 5)
    kp = keypoint_observation(states)  # (6, 18)
    assert kp.shape == (6, 18) and kp.dtype == np.float32
    for s, k in zip(states, kp):
        np.testing.assert_allclose(k[:2], s[:2])
        np.testing.assert_allclose(k[2:].reshape(8, 2), geom.t_vertices(s[2:]), atol=1e-3)
    with pytest.raises(ValueError, match="5 values"):
        keypoint_observation(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="obs_mode"):
        PushTEnv(obs_mode="pixels")


def test_keypoint_task_observes_the_same_state() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(PushTEnv(obs_mode="keypoints"))
    kp_env, st_env = gym.make("parapolicy/PushTKeypoints-v0"), gym.make("parapolicy/PushT-v0")
    kp_obs, _ = kp_env.reset(seed=7)
    st_obs, _ = st_env.reset(seed=7)
    actions = np.random.default_rng(1).uniform(100, 400, size=(15, 2)).astype(np.float32)
    for a in actions:
        assert kp_env.observation_space.contains(kp_obs)
        np.testing.assert_array_equal(st_obs, kp_env.unwrapped.state_observation())
        np.testing.assert_allclose(kp_obs, keypoint_observation(st_obs), atol=1e-4)
        kp_obs, r1, *_ = kp_env.step(a)
        st_obs, r2, *_ = st_env.step(a)
        assert r1 == r2
