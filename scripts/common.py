"""Shared plumbing of the console scripts: Hydra entry, user-error reporting, env config, provenance.

Every script is a thin Hydra app. Its config is a dataclass registered in Hydra's ConfigStore as the
schema of a YAML file in ``scripts/conf``; :func:`hydra_app` turns the composed config into that
dataclass (running its ``__post_init__`` validation) and converts user errors into one line on
stderr and exit status 2, without a traceback.
"""
from __future__ import annotations

import functools
import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, TypeVar

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering; must precede any mujoco import

import hydra
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from parapolicy.envs import UnknownEnvError, canonical_env_id, make_env

CONF_DIR = str(Path(__file__).parent / "conf")
EXIT_USER_ERROR = 2

T = TypeVar("T")


class UserError(Exception):
    """A problem with the user's input: reported as one line, exit status 2."""


#: exception types that mean "the user asked for something wrong", not "parapolicy is broken".
USER_ERRORS: tuple[type[BaseException], ...] = (
    UserError,
    ValueError,
    FileNotFoundError,
    FileExistsError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
    OmegaConfBaseException,
)


@dataclass
class EnvConfig:
    """Which task to run: a registered id plus constructor kwargs (the ``env`` config group)."""

    id: str = "parapolicy/Fork-v0"
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            self.id = canonical_env_id(self.id)
        except UnknownEnvError as exc:
            raise UserError(str(exc)) from None

    @property
    def short(self) -> str:
        """The id without the ``parapolicy/`` prefix, for folder names."""
        return self.id.split("/")[-1]

    def make(self, **extra: Any):
        """Build the environment (gymnasium wrappers included)."""
        return make_env(self.id, **{**self.kwargs, **extra})


def register_schema(name: str, node: type) -> None:
    """Register a config dataclass in Hydra's ConfigStore (YAML files list it first in defaults)."""
    ConfigStore.instance().store(name=name, node=node)


def fail(message: str) -> None:
    """Print one error line and exit with the user-error status."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USER_ERROR)


def hydra_app(config_name: str, schema: type[T]) -> Callable[[Callable[[T], Any]], Callable[[], Any]]:
    """Decorate ``fn(cfg: schema)`` as a Hydra console entry point with one-line user errors."""
    register_schema(f"{config_name}_schema", schema)

    def decorate(fn: Callable[[T], Any]) -> Callable[[], Any]:
        started = []  # set once Hydra has composed the config and the job runs

        @hydra.main(version_base=None, config_path=CONF_DIR, config_name=config_name)
        def _hydra_main(cfg: DictConfig) -> Any:
            started.append(True)
            try:
                obj = OmegaConf.to_object(cfg)
                return fn(obj)  # type: ignore[arg-type]
            except USER_ERRORS as exc:
                if os.environ.get("PARAPOLICY_DEBUG"):
                    raise
                fail(_one_line(exc))
            except KeyboardInterrupt:
                fail("interrupted")

        @functools.wraps(fn)
        def main() -> Any:
            # Hydra reports a bad override (unknown key, wrong type, bad grammar) over several lines;
            # with HYDRA_FULL_ERROR it raises instead, and the error becomes one line here
            own = "HYDRA_FULL_ERROR" not in os.environ and not os.environ.get("PARAPOLICY_DEBUG")
            if own:
                os.environ["HYDRA_FULL_ERROR"] = "1"
            try:
                return _hydra_main()
            except Exception as exc:
                if not own or started:
                    raise
                fail(_override_error(exc))
            finally:
                if own:
                    os.environ.pop("HYDRA_FULL_ERROR", None)

        return main

    return decorate


def _override_error(exc: BaseException) -> str:
    """One line for a command-line override Hydra could not apply: its message and its cause's."""
    parts = [str(exc).strip().splitlines()[0].rstrip(".") if str(exc).strip() else type(exc).__name__]
    if isinstance(getattr(exc, "override", None), str):  # a grammar error names the input, not the override
        parts.insert(0, f"bad override {exc.override!r}")
    cause = exc.__cause__
    if cause is not None and str(cause).strip():
        parts.append(str(cause).strip().splitlines()[0])
    return " ".join(": ".join(parts).split())


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, OmegaConfBaseException):
        text = text.splitlines()[0]
    return " ".join(text.split())


def output_dir() -> Path:
    """The run directory Hydra created for this job (``runs/<job>/<time>`` unless overridden)."""
    from hydra.core.hydra_config import HydraConfig

    try:
        return Path(HydraConfig.get().runtime.output_dir)
    except ValueError:  # called outside a Hydra app (tests)
        return Path("runs")


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


@functools.lru_cache(maxsize=1)
def git_state() -> tuple[str, bool | None]:
    """(commit, uncommitted changes?) of the source tree, read once per process — at import of this
    module — so a long run's provenance names the code it started with, not a later HEAD.
    ``$PARAPOLICY_GIT_COMMIT``, when set, names the commit instead (a tree copied to another machine
    without its history, or with a stale one); its changes are then unknown (None)."""
    named = os.environ.get("PARAPOLICY_GIT_COMMIT")
    if named:
        return named, None
    commit = _git("rev-parse", "HEAD") or "unknown"
    status = _git("status", "--porcelain", "--untracked-files=no")
    return commit, None if status is None else bool(status)


def git_commit() -> str:
    """The git commit this process started from, or ``"unknown"``."""
    return git_state()[0]


def cpu_name() -> str:
    """The CPU model name (Linux ``/proc/cpuinfo``), or the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def provenance(seeds: Any = None) -> dict[str, Any]:
    """Where a number came from: command, commit, versions, hardware, threads, seeds and date."""
    from importlib import metadata

    import torch

    versions = {}
    for pkg in ("parapolicy", "torch", "gymnasium", "mujoco", "stable-baselines3", "numpy"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "unknown"
    return {
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
        "git_commit": git_commit(),
        "git_dirty": git_state()[1],
        "versions": versions,
        "python": platform.python_version(),
        "cpu": cpu_name(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch_threads": torch.get_num_threads(),
        "seeds": seeds,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def loss_progress(total: int, desc: str, enabled: bool = True) -> tuple[Any, Any]:
    """(tqdm bar over ``total`` training steps or None, per-step ``log(it, loss)`` callback or None)."""
    if not enabled:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="step", dynamic_ncols=True)

    def log(_it: int, loss: float) -> None:
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.4g}", refresh=False)

    return bar, log


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temp file and a rename (never half-written)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def write_json_atomic(path: Path, data: Any) -> Path:
    """Write JSON to ``path`` through a temp file and a rename (never half-written)."""
    return write_text_atomic(path, json.dumps(data, indent=2, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


git_state()  # pin the provenance commit at process start
