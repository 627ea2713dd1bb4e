"""Demonstration datasets: HDF5 files in the robomimic layout, written atomically, validated on load.

Layout (one file per dataset)::

    data/                         group; attrs: env_id, env_kwargs (JSON), env_args (robomimic-style
                                  JSON), expert, seed, action_noise, package_version, total, created,
                                  format
    data/demo_<i>/obs             (T, Do) float32   obs[t] is the observation action[t] was chosen from
    data/demo_<i>/actions         (T, Da) float32
    data/demo_<i>/rewards         (T,)    float32   reward received after actions[t]
    data/demo_<i>/dones           (T,)    uint8     1 where the episode ended after actions[t]
                                  attrs: num_samples (T), seed, success, mode

``i`` counts from 0 and demos load in numeric order. Observations are aligned with actions (the final
observation after the last action is not stored), which is what behaviour cloning consumes.

:func:`write_demos` never overwrites a file unless asked and never leaves a half-written one: it writes
a temporary file beside the target and renames it into place. :func:`load_demos` checks the whole file
before returning and raises :class:`DemoFormatError` with one line naming the file and the offending key.
"""
from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

#: Written to ``data.attrs["format"]`` so future layouts can be told apart.
FORMAT = "parapolicy-demos/1"
#: Datasets every ``data/demo_<i>`` group must hold.
DEMO_KEYS = ("obs", "actions", "rewards", "dones")
#: Attributes every ``data/demo_<i>`` group must carry.
DEMO_ATTRS = ("num_samples", "seed", "success", "mode")
#: Attributes the ``data`` group must carry.
FILE_ATTRS = ("env_id", "env_kwargs", "expert", "seed", "package_version", "total", "created")
_DEMO_NAME = re.compile(r"^demo_(\d+)$")


class DemoFormatError(ValueError):
    """A demonstration file is missing, unreadable, or does not follow the layout in the module doc."""


@dataclass
class Episode:
    """One demonstration: per-step arrays aligned on the action index, plus what produced it.

    Arrays are converted on construction: ``obs``/``actions``/``rewards`` to float32, ``dones`` to bool.
    """

    obs: np.ndarray  # (T, Do) float32
    actions: np.ndarray  # (T, Da) float32
    rewards: np.ndarray  # (T,) float32
    dones: np.ndarray  # (T,) bool
    success: bool
    seed: int
    mode: str = ""

    def __post_init__(self) -> None:
        self.obs = np.asarray(self.obs, dtype=np.float32)
        self.actions = np.asarray(self.actions, dtype=np.float32)
        self.rewards = np.asarray(self.rewards, dtype=np.float32)
        self.dones = np.asarray(self.dones, dtype=bool)
        self.success = bool(self.success)
        self.seed = int(self.seed)
        self.mode = str(self.mode)

    def __len__(self) -> int:
        """Number of steps ``T``."""
        return int(self.actions.shape[0])


@dataclass
class DemoSet:
    """A loaded dataset: the episodes in file order and the ``data`` group's attributes.

    ``attrs["env_kwargs"]`` (and ``env_args`` when present) are decoded from JSON to dicts.
    """

    episodes: list[Episode]
    attrs: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.episodes)

    @property
    def obs_dim(self) -> int:
        """Observation size ``Do`` (the same in every episode)."""
        return int(self.episodes[0].obs.shape[1])

    @property
    def action_dim(self) -> int:
        """Action size ``Da`` (the same in every episode)."""
        return int(self.episodes[0].actions.shape[1])


# --------------------------------------------------------------------------------------------- checks
def _episode_problem(
    obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray
) -> str | None:
    """Describe the first shape or value problem in one episode's arrays (``None`` when valid)."""
    if obs.ndim != 2:
        return f"obs must be 2-D (T, Do), got shape {obs.shape}"
    if actions.ndim != 2:
        return f"actions must be 2-D (T, Da), got shape {actions.shape}"
    steps = actions.shape[0]
    if steps == 0:
        return "actions is empty (T = 0)"
    if obs.shape[0] != steps:
        return f"obs has {obs.shape[0]} rows but actions has {steps} (obs must align with actions)"
    for name, arr in (("rewards", rewards), ("dones", dones)):
        if arr.shape != (steps,):
            return f"{name} must have shape ({steps},) like actions, got {arr.shape}"
    for name, arr in (("obs", obs), ("actions", actions), ("rewards", rewards)):
        if not np.all(np.isfinite(arr)):
            return f"{name} contains NaN or inf"
    return None


def _dims_problem(obs: np.ndarray, actions: np.ndarray, dims: tuple[int, int] | None) -> str | None:
    """Describe a mismatch of (Do, Da) with the first episode's dims (``None`` when consistent)."""
    if dims is None or (obs.shape[1], actions.shape[1]) == dims:
        return None
    return (
        f"obs/actions dims ({obs.shape[1]}, {actions.shape[1]}) differ from the first demo's {dims}"
    )


def _check_episodes(episodes: list[Episode]) -> None:
    """Raise ``ValueError`` (one line) for anything :func:`load_demos` would reject."""
    if not episodes:
        raise ValueError("no episodes to write: a demonstration file needs at least one")
    dims: tuple[int, int] | None = None
    for i, ep in enumerate(episodes):
        problem = _episode_problem(ep.obs, ep.actions, ep.rewards, ep.dones)
        problem = problem or _dims_problem(ep.obs, ep.actions, dims)
        if problem:
            raise ValueError(f"episode {i}: {problem}")
        dims = dims or (ep.obs.shape[1], ep.actions.shape[1])


# --------------------------------------------------------------------------------------------- write
def package_version() -> str:
    """Installed version of the ``parapolicy`` distribution, or ``"unknown"``."""
    try:
        return importlib.metadata.version("parapolicy")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _file_attrs(
    episodes: list[Episode], env_id: str, env_kwargs: dict[str, Any], expert: str, seed: int,
    action_noise: float,
) -> dict[str, Any]:
    """The ``data`` group's attributes for a new file."""
    try:
        kwargs_json = json.dumps(env_kwargs, sort_keys=True)
    except TypeError as err:
        raise ValueError(f"env_kwargs must be JSON-serialisable: {err}") from None
    env_args = {"env_name": env_id, "type": "gymnasium", "env_kwargs": env_kwargs}
    return {
        "env_id": str(env_id),
        "env_kwargs": kwargs_json,
        "env_args": json.dumps(env_args, sort_keys=True),
        "expert": str(expert),
        "seed": int(seed),
        "action_noise": float(action_noise),
        "package_version": package_version(),
        "total": int(sum(len(ep) for ep in episodes)),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "format": FORMAT,
    }


def _write_file(target: str, episodes: list[Episode], attrs: dict[str, Any]) -> None:
    """Write the whole dataset to ``target`` (a fresh file)."""
    with h5py.File(target, "w") as f:
        data = f.create_group("data")
        data.attrs.update(attrs)
        for i, ep in enumerate(episodes):
            grp = data.create_group(f"demo_{i}")
            grp.create_dataset("obs", data=ep.obs, compression="gzip")  # (T, Do)
            grp.create_dataset("actions", data=ep.actions, compression="gzip")  # (T, Da)
            grp.create_dataset("rewards", data=ep.rewards, compression="gzip")  # (T,)
            grp.create_dataset("dones", data=ep.dones.astype(np.uint8), compression="gzip")  # (T,)
            grp.attrs.update(num_samples=len(ep), seed=ep.seed, success=ep.success, mode=ep.mode)


def _refuse_existing(path: Path, overwrite: bool) -> None:
    """Raise ``FileExistsError`` if ``path`` exists and overwriting was not allowed."""
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")


def write_demos(
    path: str | os.PathLike[str],
    episodes: Iterable[Episode],
    *,
    env_id: str,
    env_kwargs: dict[str, Any],
    expert: str,
    seed: int,
    action_noise: float = 0.0,
    overwrite: bool = False,
) -> Path:
    """Write ``episodes`` to an HDF5 file at ``path`` atomically and return the path.

    ``env_id``/``env_kwargs`` say how to rebuild the environment, ``expert`` names the demonstrator and
    ``seed`` is the collection's base seed; ``action_noise`` is the DART noise scale the executed
    actions carried (0: none; the recorded actions are always the expert's own). Parent directories
    are created. An existing file is left untouched unless ``overwrite=True`` (``FileExistsError``
    otherwise). The data go to a temporary file
    in the same directory, renamed over the target only once complete; on any error the temporary file
    is removed. Invalid episodes raise ``ValueError`` before anything is written.
    """
    path = Path(path)
    episodes = list(episodes)
    _refuse_existing(path, overwrite)
    _check_episodes(episodes)
    attrs = _file_attrs(episodes, env_id, env_kwargs, expert, seed, action_noise)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        _write_file(tmp, episodes, attrs)
        # mkstemp made it 0600: give it the bits a plain open() would (the same rule as
        # policies.checkpoint.default_mode, which envs may not import)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        _refuse_existing(path, overwrite)  # another writer may have created it meanwhile
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# --------------------------------------------------------------------------------------------- load
def _decode(value: Any) -> Any:
    """An HDF5 attribute as a plain Python value (str, int, float, bool)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    return value


def _demo_names(data: h5py.Group, where: str) -> list[str]:
    """``demo_<i>`` names in ``data`` sorted by ``i``; ``DemoFormatError`` if there are none."""
    names = [name for name in data.keys() if _DEMO_NAME.match(name)]
    if not names:
        raise DemoFormatError(f"{where}: group 'data' holds no demo_<i> groups (empty dataset)")
    return sorted(names, key=lambda name: int(_DEMO_NAME.match(name).group(1)))  # type: ignore[union-attr]


def _read_file_attrs(data: h5py.Group, where: str) -> dict[str, Any]:
    """The ``data`` group's attributes, JSON fields decoded; ``DemoFormatError`` if one is missing."""
    for key in FILE_ATTRS:
        if key not in data.attrs:
            raise DemoFormatError(f"{where}: missing attribute data.attrs['{key}']")
    attrs = {key: _decode(value) for key, value in data.attrs.items()}
    for key in ("env_kwargs", "env_args"):
        if key in attrs:
            try:
                attrs[key] = json.loads(attrs[key])
            except (TypeError, ValueError):
                raise DemoFormatError(f"{where}: data.attrs['{key}'] is not valid JSON") from None
    return attrs


def _read_demo(grp: h5py.Group, key: str, where: str) -> Episode:
    """One ``data/demo_<i>`` group as an :class:`Episode` after checking keys, shapes and values."""
    for name in DEMO_KEYS:
        if not isinstance(grp.get(name), h5py.Dataset):
            raise DemoFormatError(f"{where}: {key} is missing dataset '{name}'")
    for name in DEMO_ATTRS:
        if name not in grp.attrs:
            raise DemoFormatError(f"{where}: {key} is missing attribute '{name}'")
    arrays = {name: np.asarray(grp[name][()]) for name in DEMO_KEYS}
    problem = _episode_problem(arrays["obs"], arrays["actions"], arrays["rewards"], arrays["dones"])
    if problem:
        raise DemoFormatError(f"{where}: {key}: {problem}")
    if int(_decode(grp.attrs["num_samples"])) != len(arrays["actions"]):
        raise DemoFormatError(
            f"{where}: {key}: attribute num_samples={_decode(grp.attrs['num_samples'])} but actions has "
            f"{len(arrays['actions'])} rows"
        )
    meta = {name: _decode(grp.attrs[name]) for name in ("seed", "success", "mode")}
    return Episode(**arrays, **meta)


def _read_episodes(data: h5py.Group, where: str) -> list[Episode]:
    """All demos in file order, with their dims checked against the first one."""
    episodes: list[Episode] = []
    dims: tuple[int, int] | None = None
    for name in _demo_names(data, where):
        ep = _read_demo(data[name], f"data/{name}", where)
        problem = _dims_problem(ep.obs, ep.actions, dims)
        if problem:
            raise DemoFormatError(f"{where}: data/{name}: {problem}")
        dims = dims or (ep.obs.shape[1], ep.actions.shape[1])
        episodes.append(ep)
    return episodes


def load_demos(path: str | os.PathLike[str]) -> DemoSet:
    """Load and validate a demonstration file written by :func:`write_demos`.

    Raises :class:`DemoFormatError` (one line: the file, the key, the problem) for a missing file, a
    file that is not HDF5 or is truncated, a missing ``data`` group, attribute or demo key, mismatched
    shapes or dims, NaN/inf values, or a dataset without demos.
    """
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise DemoFormatError(f"{where}: no such file")
    if not h5py.is_hdf5(path):
        raise DemoFormatError(f"{where}: not an HDF5 file")
    try:
        with h5py.File(path, "r") as f:
            data = f.get("data")
            if not isinstance(data, h5py.Group):
                raise DemoFormatError(f"{where}: missing group 'data'")
            attrs = _read_file_attrs(data, where)
            episodes = _read_episodes(data, where)
    except (OSError, RuntimeError, KeyError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DemoFormatError(f"{where}: unreadable HDF5 (truncated or corrupt?): {reason}") from None
    return DemoSet(episodes=episodes, attrs=attrs, path=path)


# --------------------------------------------------------------------------------------------- stats
def demo_stats(demos: DemoSet) -> dict[str, Any]:
    """Summary of a dataset: episode and step counts, success rate, episode lengths, route counts."""
    lengths = [len(ep) for ep in demos.episodes]
    successes = sum(ep.success for ep in demos.episodes)
    count = len(demos.episodes)
    return {
        "episodes": count,
        "steps": int(sum(lengths)),
        "successes": int(successes),
        "success_rate": successes / count if count else 0.0,
        "mean_length": float(np.mean(lengths)) if lengths else 0.0,
        "min_length": min(lengths, default=0),
        "max_length": max(lengths, default=0),
        "modes": dict(sorted(Counter(ep.mode for ep in demos.episodes).items())),
    }


# --------------------------------------------------------------------------------------------- merging
#: file attributes that must agree for two demonstration files to be trained on together.
_MERGE_KEYS = ("env_id", "env_kwargs")


def concat_demos(sets: list[DemoSet]) -> DemoSet:
    """One dataset holding the episodes of ``sets`` in order, e.g. two collections run in parallel.

    The files must come from the same task with the same constructor kwargs and have the same
    observation and action sizes; otherwise :class:`DemoFormatError` names the first file that differs
    and how. Episode seeds are kept, and a seed that appears in two files is refused (the same initial
    state twice would silently weight it double). The merged ``attrs`` are the first file's, with
    ``total`` updated and ``sources`` listing every file.
    """
    if not sets:
        raise DemoFormatError("no demonstration files given")
    first = sets[0]
    where0 = str(first.path or "dataset 1")
    seen: dict[int, str] = {}
    episodes: list[Episode] = []
    for i, demos in enumerate(sets):
        where = str(demos.path or f"dataset {i + 1}")
        for key in _MERGE_KEYS:
            if demos.attrs.get(key) != first.attrs.get(key):
                raise DemoFormatError(f"{where}: {key} {demos.attrs.get(key)!r} differs from "
                                      f"{first.attrs.get(key)!r} in {where0}")
        if (demos.obs_dim, demos.action_dim) != (first.obs_dim, first.action_dim):
            raise DemoFormatError(f"{where}: obs/action dims ({demos.obs_dim}, {demos.action_dim}) differ from "
                                  f"({first.obs_dim}, {first.action_dim}) in {where0}")
        for ep in demos.episodes:
            if ep.seed in seen:
                raise DemoFormatError(f"{where}: episode seed {ep.seed} is also in {seen[ep.seed]}")
            seen[ep.seed] = where
        episodes.extend(demos.episodes)
    attrs = {**first.attrs, "total": len(episodes),
             "sources": [str(d.path) if d.path else f"dataset {i + 1}" for i, d in enumerate(sets)]}
    return DemoSet(episodes=episodes, attrs=attrs, path=first.path if len(sets) == 1 else None)
