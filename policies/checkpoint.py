"""Policy checkpoints: a directory with ``config.json``, ``model.safetensors`` and ``normalizer.json``
(plus ``training_state.pt`` for resumable training checkpoints).

Writes are atomic: everything goes into a temporary directory next to the target, which is then
renamed into place (an existing target is only replaced with ``overwrite=True``, by renaming it
aside first and deleting it after the swap), so a killed process never leaves a half-written
checkpoint under the final name. Loading validates everything and raises ``CheckpointError`` (a
``ValueError``) with one line for a missing directory or file, corrupt or truncated weights, an
environment-id mismatch or an observation/action shape mismatch.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import random
import shutil
import tempfile
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from .base import ChunkPolicyBase
from .config import PolicyConfig
from .diffusion import DiffusionPolicy
from .factory import make_policy
from .mse import MseBcPolicy
from .normalizer import Normalizer

FORMAT = "parapolicy-policy"
FORMAT_VERSION = 1
CONFIG_FILE, WEIGHTS_FILE, NORMALIZER_FILE, TRAINING_STATE_FILE = (
    "config.json", "model.safetensors", "normalizer.json", "training_state.pt")


class CheckpointError(ValueError):
    """A checkpoint cannot be used: missing, corrupt, or for another environment / shape."""


def package_version() -> str:
    """The installed ``parapolicy`` version (``unknown`` when not installed)."""
    try:
        return metadata.version("parapolicy")
    except metadata.PackageNotFoundError:
        return "unknown"


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (np.ndarray, torch.Tensor)):
        return o.tolist()
    if isinstance(o, (tuple, set)):
        return list(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON-serializable: {type(o).__name__}")


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n")


def default_mode(directory: bool = False) -> int:
    """The permission bits a plain ``open``/``mkdir`` would give under the current umask.

    ``tempfile`` creates its files 0600 and directories 0700; whatever is published from one by a
    rename gets these bits first, so a checkpoint is as readable as any other file the user writes.
    Reading the umask means setting it for an instant; a file another thread creates in that instant
    gets mode 0666/0777.
    """
    mask = os.umask(0)
    os.umask(mask)
    return (0o777 if directory else 0o666) & ~mask


def atomic_directory(target: str | os.PathLike, writer: Any, *, overwrite: bool = False) -> Path:
    """Create directory ``target`` atomically: ``writer(tmp_dir)`` fills a temporary sibling which is
    then renamed to ``target``. An existing ``target`` raises ``FileExistsError`` unless ``overwrite``."""
    target = Path(target)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} already exists; pass overwrite=True to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        writer(tmp)
        for f in tmp.iterdir():  # make the files durable before the rename publishes them
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        os.chmod(tmp, default_mode(directory=True))
        if target.exists():
            old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(target, old)
            os.rename(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def checkpoint_metadata(policy: ChunkPolicyBase, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The contents of ``config.json``."""
    cfg = policy.config
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": cfg.kind,
        "env_id": cfg.env_id,
        "obs_dim": cfg.obs_dim,
        "action_dim": cfg.action_dim,
        "policy": cfg.to_dict(),
        "teacher": cfg.teacher,
        "timesteps": cfg.timesteps,
        "params": policy.num_parameters(),
        "parapolicy_version": package_version(),
        "torch_version": torch.__version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "extra": dict(extra or {}),
    }


def _write_policy_files(policy: ChunkPolicyBase, d: Path, extra: dict[str, Any] | None) -> None:
    _write_json(d / CONFIG_FILE, checkpoint_metadata(policy, extra))
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in policy.state_dict().items()}
    save_file(tensors, str(d / WEIGHTS_FILE), metadata={"format": "pt", "kind": policy.config.kind})
    _write_json(d / NORMALIZER_FILE, policy.normalizer.state_dict())


def save_checkpoint(policy: ChunkPolicyBase, path: str | os.PathLike, *, extra: dict[str, Any] | None = None,
                    overwrite: bool = False, training_state: dict[str, Any] | None = None,
                    extra_tensors: dict[str, tuple[dict[str, torch.Tensor], dict[str, str]]] | None = None) -> Path:
    """Write ``policy`` to directory ``path`` atomically and return it.

    ``extra``: JSON-able metadata stored under ``"extra"`` in ``config.json`` (e.g. training
    config, dataset, distillation settings). ``training_state``: also write ``training_state.pt``
    (see ``save_training_state``) inside the same atomic swap. ``extra_tensors``: more safetensors
    files in the same swap, ``{file name: (tensors, string metadata)}`` (e.g. a distillation bank).
    """
    for name in extra_tensors or {}:
        if name in (CONFIG_FILE, WEIGHTS_FILE, NORMALIZER_FILE, TRAINING_STATE_FILE) or Path(name).name != name:
            raise ValueError(f"extra_tensors file name {name!r} must be a plain name other than the checkpoint's own")

    def writer(d: Path) -> None:
        _write_policy_files(policy, d, extra)
        if training_state is not None:
            torch.save(training_state, d / TRAINING_STATE_FILE)
        for name, (tensors, meta) in (extra_tensors or {}).items():
            save_file({k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}, str(d / name),
                      metadata=dict(meta))

    return atomic_directory(path, writer, overwrite=overwrite)


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise CheckpointError(f"checkpoint file missing: {path}")
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"checkpoint file {path} is not valid JSON ({type(e).__name__}: {e})") from None


def read_checkpoint_config(path: str | os.PathLike) -> tuple[PolicyConfig, dict[str, Any]]:
    """(policy config, full ``config.json`` metadata) of checkpoint directory ``path``."""
    d = Path(path)
    if not d.is_dir():
        raise CheckpointError(f"checkpoint directory not found: {d}")
    meta = _read_json(d / CONFIG_FILE)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or "policy" not in meta:
        raise CheckpointError(f"{d / CONFIG_FILE} is not a parapolicy policy checkpoint config")
    if int(meta.get("format_version", 0)) > FORMAT_VERSION:
        raise CheckpointError(f"{d} has checkpoint format {meta.get('format_version')}; this version reads "
                              f"<= {FORMAT_VERSION} (upgrade parapolicy)")
    try:
        cfg = PolicyConfig.from_dict(meta["policy"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{d / CONFIG_FILE}: invalid policy config: {e}") from None
    return cfg, meta


def load_policy(path: str | os.PathLike, *, expect_env_id: str | None = None, expect_obs_dim: int | None = None,
                expect_action_dim: int | None = None, device: str | torch.device = "cpu"
                ) -> DiffusionPolicy | MseBcPolicy:
    """Load a checkpoint directory written by ``save_checkpoint`` (in eval mode, EMA weights for
    inference). ``expect_*``: raise ``CheckpointError`` when the checkpoint was trained for another
    environment id or observation/action dimension."""
    d = Path(path)
    cfg, _ = read_checkpoint_config(d)
    if expect_env_id is not None and cfg.env_id is not None and cfg.env_id != expect_env_id:
        raise CheckpointError(f"checkpoint {d} was trained on {cfg.env_id!r}, not {expect_env_id!r}")
    if expect_obs_dim is not None and cfg.obs_dim != int(expect_obs_dim):
        raise CheckpointError(f"checkpoint {d} expects observations of dim {cfg.obs_dim}, the environment "
                              f"gives {expect_obs_dim}")
    if expect_action_dim is not None and cfg.action_dim != int(expect_action_dim):
        raise CheckpointError(f"checkpoint {d} produces actions of dim {cfg.action_dim}, the environment "
                              f"takes {expect_action_dim}")
    try:
        normalizer = Normalizer.from_state_dict(_read_json(d / NORMALIZER_FILE))
        policy = make_policy(cfg, normalizer)
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{d / NORMALIZER_FILE}: invalid normalizer: {e}") from None
    weights = d / WEIGHTS_FILE
    if not weights.is_file():
        raise CheckpointError(f"checkpoint file missing: {weights}")
    try:
        state = load_file(str(weights), device="cpu")
    except Exception as e:  # safetensors raises its own error types for truncated/corrupt files
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"{weights} is corrupt or truncated ({msg})") from None
    expected = policy.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"{weights} does not match the config: {len(missing)} missing tensors "
                              f"{missing[:3]}, {len(unexpected)} unexpected {unexpected[:3]}")
    bad = [k for k, v in state.items() if tuple(v.shape) != tuple(expected[k].shape)]
    if bad:
        k = bad[0]
        raise CheckpointError(f"{weights}: tensor {k} has shape {tuple(state[k].shape)}, the config needs "
                              f"{tuple(expected[k].shape)}")
    if not all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point()):
        raise CheckpointError(f"{weights} contains NaN or inf weights")
    policy.load_state_dict(state)
    return policy.to(device).eval()


# -- training state ----------------------------------------------------------------------------------
def rng_state() -> dict[str, Any]:
    """Python, numpy and torch (CPU and CUDA) RNG states in a ``torch.load(weights_only=True)``-safe form."""
    py = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": [py[0], list(py[1]), py[2]],
        "numpy": {"kind": kind, "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Inverse of ``rng_state``."""
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_training_state(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write a training-state dict (optimizer, scheduler, EMA, step, RNG states, data position) to
    file ``path`` atomically (temporary file + ``os.replace``). Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, default_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_training_state(path: str | os.PathLike) -> dict[str, Any]:
    """Read a training state written by ``save_training_state`` or ``save_checkpoint(training_state=)``;
    ``path`` may be the file or its checkpoint directory."""
    p = Path(path)
    if p.is_dir():
        p = p / TRAINING_STATE_FILE
    if not p.is_file():
        raise CheckpointError(f"training state missing: {p}")
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:
        raise CheckpointError(f"training state {p} is corrupt or truncated ({type(e).__name__})") from None
