"""Every task parapolicy offers: registration, check_env, determinism, headless rendering, bad ids."""
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from parapolicy.envs import EXTERNAL_TASKS, OWN_TASKS, UnknownEnvError, canonical_env_id, make_env

ALL_IDS = list(OWN_TASKS) + ["Hopper-v5", "Walker2d-v5", "HalfCheetah-v5", "Reacher-v5",
                             "InvertedDoublePendulum-v5"]


def test_unknown_id_lists_known_ids():
    with pytest.raises(UnknownEnvError) as err:
        make_env("parapolicy/Nope-v0")
    assert "parapolicy/Fork-v0" in str(err.value) and "Hopper-v5" in str(err.value)


def test_short_ids_resolve():
    assert canonical_env_id("Fork-v0") == "parapolicy/Fork-v0"
    assert canonical_env_id("PushT-v0") == "parapolicy/PushT-v0"
    assert canonical_env_id("PushTKeypoints-v0") == "parapolicy/PushTKeypoints-v0"
    assert set(ALL_IDS[len(OWN_TASKS):]) <= set(EXTERNAL_TASKS)


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_check_env(env_id):
    env = make_env(env_id)
    check_env(env.unwrapped, skip_render_check=True)
    env.close()


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_deterministic_and_finite(env_id):
    def trace(seed):
        env = make_env(env_id)
        env.action_space.seed(123)
        obs, _ = env.reset(seed=seed)
        out = [obs]
        for _ in range(30):
            obs, reward, term, trunc, _ = env.step(env.action_space.sample())
            out.append(obs)
            assert np.isfinite(obs).all() and np.isfinite(reward)
            if term or trunc:
                obs, _ = env.reset(seed=seed + 1)
                out.append(obs)
        env.close()
        return np.stack(out)

    a, b, c = trace(5), trace(5), trace(6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_renders_headless(env_id):
    env = make_env(env_id, render_mode="rgb_array", width=64, height=48)
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
    assert frame.std() > 0  # not a blank image
    env.close()
