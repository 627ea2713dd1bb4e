"""Demonstration files: round trip, overwrite refusal, atomic writes, and one clear error per corruption."""
from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import pytest

from parapolicy.envs import make_env
from parapolicy.envs.demos import (DemoFormatError, DemoSet, Episode, concat_demos, demo_stats, load_demos,
                                   write_demos)
from parapolicy.envs.fork_expert import ForkExpert

ENV_ID = "parapolicy/Fork-v0"


def collect(seed: int) -> Episode:
    """One Fork-v0 expert episode as an :class:`Episode`."""
    env = make_env(ENV_ID)
    expert = ForkExpert(env)
    obs, _ = env.reset(seed=seed)
    expert.reset(seed=seed)
    rows: dict[str, list] = {"obs": [], "actions": [], "rewards": [], "dones": []}
    while True:
        action = expert.act(obs)
        rows["obs"].append(obs)
        rows["actions"].append(action)
        obs, reward, terminated, truncated, info = env.step(action)
        rows["rewards"].append(reward)
        rows["dones"].append(terminated or truncated)
        if terminated or truncated:
            return Episode(**rows, success=info["is_success"], seed=seed, mode=expert.mode)


@pytest.fixture(scope="module")
def episodes() -> list[Episode]:
    return [collect(seed) for seed in range(4)]


def write(path: Path, episodes: list[Episode], **kwargs) -> Path:
    """write_demos with this file's standard metadata."""
    return write_demos(
        path, episodes, env_id=ENV_ID, env_kwargs={"width": 64}, expert="ForkExpert", seed=0, **kwargs
    )


@pytest.fixture
def good_file(tmp_path: Path, episodes: list[Episode]) -> Path:
    return write(tmp_path / "demos.hdf5", episodes)


def test_round_trip(tmp_path: Path, episodes: list[Episode]) -> None:
    path = write(tmp_path / "nested" / "dir" / "demos.hdf5", episodes)
    loaded = load_demos(path)
    assert isinstance(loaded, DemoSet) and len(loaded) == len(episodes)
    for ours, theirs in zip(episodes, loaded.episodes):
        for key in ("obs", "actions", "rewards", "dones"):
            assert np.array_equal(getattr(ours, key), getattr(theirs, key)), key
            assert getattr(ours, key).dtype == getattr(theirs, key).dtype, key
        assert (ours.success, ours.seed, ours.mode) == (theirs.success, theirs.seed, theirs.mode)
    attrs = loaded.attrs
    assert attrs["env_id"] == ENV_ID and attrs["env_kwargs"] == {"width": 64}
    assert attrs["expert"] == "ForkExpert" and attrs["seed"] == 0
    assert attrs["total"] == sum(len(ep) for ep in episodes)
    assert isinstance(attrs["package_version"], str) and attrs["created"]
    assert loaded.obs_dim == 6 and loaded.action_dim == 2


def test_robomimic_layout(good_file: Path, episodes: list[Episode]) -> None:
    with h5py.File(good_file, "r") as f:
        demo = f["data/demo_0"]
        assert set(demo.keys()) >= {"obs", "actions", "rewards", "dones"}
        assert demo.attrs["num_samples"] == len(episodes[0])
        assert demo["obs"].shape == (len(episodes[0]), 6)


def test_demo_stats(good_file: Path, episodes: list[Episode]) -> None:
    stats = demo_stats(load_demos(good_file))
    assert stats["episodes"] == 4 and stats["steps"] == sum(len(ep) for ep in episodes)
    assert stats["success_rate"] == 1.0
    assert sum(stats["modes"].values()) == 4 and set(stats["modes"]) <= {"left", "right"}


def test_refuses_to_overwrite(good_file: Path, episodes: list[Episode]) -> None:
    before = good_file.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True") as err:
        write(good_file, episodes[:1])
    assert str(good_file) in str(err.value)
    assert good_file.read_bytes() == before
    write(good_file, episodes[:1], overwrite=True)
    assert len(load_demos(good_file)) == 1


def test_atomic_write_leaves_no_temp_files(tmp_path: Path, episodes: list[Episode], monkeypatch) -> None:
    write(tmp_path / "a.hdf5", episodes)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.hdf5"]
    before = (tmp_path / "a.hdf5").read_bytes()

    def explode(*args, **kwargs):
        raise RuntimeError("disk full (simulated)")

    import parapolicy.envs.demos as demos_module

    monkeypatch.setattr(demos_module.os, "replace", explode)
    with pytest.raises(RuntimeError, match="simulated"):
        write(tmp_path / "a.hdf5", episodes[:1], overwrite=True)
    with pytest.raises(RuntimeError, match="simulated"):
        write(tmp_path / "b.hdf5", episodes)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.hdf5"]
    assert (tmp_path / "a.hdf5").read_bytes() == before


def test_written_file_follows_the_umask(tmp_path: Path, episodes: list[Episode]) -> None:
    old = os.umask(0o022)
    try:
        path = write(tmp_path / "shared.hdf5", episodes)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600


def test_write_rejects_invalid_episodes(tmp_path: Path, episodes: list[Episode]) -> None:
    first = episodes[0]
    bad = Episode(first.obs.copy(), first.actions, first.rewards, first.dones, success=True, seed=0)
    bad.obs[3, 0] = np.nan
    with pytest.raises(ValueError, match="episode 1: obs contains NaN"):
        write(tmp_path / "x.hdf5", [episodes[0], bad])
    with pytest.raises(ValueError, match="no episodes"):
        write(tmp_path / "x.hdf5", [])
    assert list(tmp_path.iterdir()) == []


def corrupt(path: Path, edit) -> Path:
    """Apply ``edit(h5py.File)`` to the file in place and return its path."""
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


def replace_dataset(f: h5py.File, key: str, value: np.ndarray) -> None:
    del f[key]
    f[key] = value


CORRUPTIONS = {
    "missing key": (lambda f: f.__delitem__("data/demo_1/actions"), r"demo_1 is missing dataset 'actions'"),
    "obs length": (
        lambda f: replace_dataset(f, "data/demo_0/obs", f["data/demo_0/obs"][:-1]),
        r"demo_0: obs has \d+ rows",
    ),
    "rewards length": (
        lambda f: replace_dataset(f, "data/demo_2/rewards", np.zeros(3, np.float32)),
        r"demo_2: rewards must have shape",
    ),
    "dims across demos": (
        lambda f: replace_dataset(f, "data/demo_3/obs", np.zeros((f["data/demo_3/actions"].shape[0], 5))),
        r"demo_3: obs/actions dims \(5, 2\) differ",
    ),
    "nan": (
        lambda f: f["data/demo_1/actions"].__setitem__((0, 0), np.nan),
        r"demo_1: actions contains NaN",
    ),
    "missing data group": (lambda f: f.move("data", "other"), r"missing group 'data'"),
    "empty dataset": (
        lambda f: [f.__delitem__(f"data/demo_{i}") for i in range(4)],
        r"no demo_<i> groups \(empty dataset\)",
    ),
    "missing file attr": (lambda f: f["data"].attrs.__delitem__("env_id"), r"data.attrs\['env_id'\]"),
    "missing demo attr": (
        lambda f: f["data/demo_0"].attrs.__delitem__("success"),
        r"missing attribute 'success'",
    ),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_corruption_is_reported(good_file: Path, case: str) -> None:
    edit, message = CORRUPTIONS[case]
    corrupt(good_file, edit)
    with pytest.raises(DemoFormatError, match=message) as err:
        load_demos(good_file)
    assert str(err.value).startswith(str(good_file)) and "\n" not in str(err.value)


def test_truncated_file(good_file: Path) -> None:
    data = good_file.read_bytes()
    good_file.write_bytes(data[: len(data) // 2])
    with pytest.raises(DemoFormatError, match="truncated"):
        load_demos(good_file)


def test_missing_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(DemoFormatError, match="no such file"):
        load_demos(tmp_path / "absent.hdf5")
    text = tmp_path / "notes.hdf5"
    text.write_text("not hdf5\n")
    with pytest.raises(DemoFormatError, match="not an HDF5 file"):
        load_demos(text)
    assert issubclass(DemoFormatError, ValueError)
    assert os.fspath(text) in str(pytest.raises(DemoFormatError, load_demos, text).value)


def test_state_demos_convert_to_keypoints_and_other_tasks_are_refused() -> None:
    from importlib.resources import files

    from parapolicy.envs import demos_for_env
    from parapolicy.envs.pusht import keypoint_observation

    demos = load_demos(Path(str(files("parapolicy.envs") / "data" / "pusht_demos.hdf5")))
    assert demos_for_env(demos, "parapolicy/PushT-v0") is demos
    kp = demos_for_env(demos, "parapolicy/PushTKeypoints-v0")
    assert kp.attrs["env_id"] == "parapolicy/PushTKeypoints-v0" and kp.obs_dim == 18
    assert demos.obs_dim == 5 and demos.attrs["env_id"] == "parapolicy/PushT-v0"  # the original is untouched
    for a, b in zip(demos.episodes[:3], kp.episodes[:3]):
        np.testing.assert_array_equal(b.obs, keypoint_observation(a.obs))
        np.testing.assert_array_equal(b.actions, a.actions)
    with pytest.raises(ValueError, match="collected on parapolicy/PushT-v0, not parapolicy/Fork-v0"):
        demos_for_env(demos, "parapolicy/Fork-v0")
    with pytest.raises(ValueError, match="not parapolicy/PushT-v0"):
        demos_for_env(kp, "parapolicy/PushT-v0")  # no way back from keypoints


def test_concat_keeps_order_and_refuses_mismatches(tmp_path: Path, episodes: list[Episode]) -> None:
    a = load_demos(write(tmp_path / "a.hdf5", episodes[:3]))
    b = load_demos(write(tmp_path / "b.hdf5", episodes[3:]))
    both = concat_demos([a, b])
    assert [e.seed for e in both.episodes] == [0, 1, 2, 3]
    np.testing.assert_array_equal(both.episodes[3].actions, episodes[3].actions)
    assert both.attrs["total"] == 4 and both.attrs["sources"] == [str(a.path), str(b.path)]
    assert concat_demos([a]).path == a.path
    with pytest.raises(DemoFormatError, match="episode seed 0 is also in .*a.hdf5"):
        concat_demos([a, load_demos(write(tmp_path / "a2.hdf5", episodes[:1]))])
    other_kwargs = write_demos(tmp_path / "k.hdf5", episodes[3:], env_id=ENV_ID, env_kwargs={"width": 32},
                               expert="ForkExpert", seed=3)
    with pytest.raises(DemoFormatError, match="k.hdf5: env_kwargs"):
        concat_demos([a, load_demos(other_kwargs)])
    shorter = [Episode(e.obs[:, :2], e.actions, e.rewards, e.dones, e.success, e.seed + 10) for e in episodes[:1]]
    with pytest.raises(DemoFormatError, match="dims"):
        concat_demos([a, load_demos(write(tmp_path / "s.hdf5", shorter))])
    with pytest.raises(DemoFormatError, match="no demonstration files"):
        concat_demos([])
