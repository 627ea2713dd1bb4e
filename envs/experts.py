"""Expert registry: the demonstrator for a task, scripted or a trained stable-baselines3 model.

An expert follows the control-loop ``Policy`` shape (``reset(seed=…)``, ``act(obs)``) and carries a
``mode`` string (which way it solved the episode, ``""`` when that is not meaningful) so datasets can
show their multimodality.
"""
from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

#: registered id -> "module:Class" of its scripted expert.
SCRIPTED_EXPERTS: dict[str, str] = {
    "parapolicy/Fork-v0": "parapolicy.envs.fork_expert:ForkExpert",
    "parapolicy/PushT-v0": "parapolicy.envs.pusht_expert:PushTExpert",
    "parapolicy/PushTKeypoints-v0": "parapolicy.envs.pusht_expert:PushTExpert",  # it reads the sim state
}

SB3_ALGOS = ("sac", "td3", "ppo", "tqc")


class Expert(Protocol):
    """What data collection needs from a demonstrator."""

    mode: str

    def reset(self, *, seed: int | None = None) -> None: ...

    def act(self, obs: np.ndarray) -> np.ndarray: ...


class SB3Expert:
    """A saved stable-baselines3 model used as a deterministic demonstrator."""

    mode = ""

    def __init__(self, model: Any) -> None:
        self.model = model

    def reset(self, *, seed: int | None = None) -> None:
        """SB3 policies here are deterministic and memoryless: nothing to reset."""

    def act(self, obs: np.ndarray) -> np.ndarray:
        """The model's deterministic action for one observation."""
        action, _ = self.model.predict(obs, deterministic=True)
        return np.asarray(action, dtype=np.float32)


def sb3_algo_class(name: str) -> type:
    """The SB3 algorithm class for a lower-case name (``sac``, ``td3``, ``ppo``; ``tqc`` needs sb3-contrib)."""
    name = name.lower()
    if name not in SB3_ALGOS:
        raise ValueError(f"unknown algo {name!r}; allowed: {', '.join(SB3_ALGOS)}")
    if name == "tqc":
        return importlib.import_module("sb3_contrib").TQC
    return getattr(importlib.import_module("stable_baselines3"), name.upper())


def load_sb3_model(path: str | Path, algo: str | None = None) -> Any:
    """Load an SB3 ``.zip``; the algorithm comes from ``algo`` or the ``<model>.json`` sidecar."""
    path = Path(path)
    if not path.exists() and path.with_suffix(".zip").exists():
        path = path.with_suffix(".zip")
    if not path.is_file():
        raise FileNotFoundError(f"no SB3 model at {path}")
    if algo is None:
        sidecar = path.with_suffix(".json")
        if not sidecar.is_file():
            raise ValueError(f"{path}: cannot tell the algorithm (no {sidecar.name}); pass the algo name")
        algo = json.loads(sidecar.read_text())["algo"]
    return sb3_algo_class(algo).load(str(path), device="cpu")


def make_expert(env: gym.Env, expert: str = "scripted", *, seed: int | None = None,
                algo: str | None = None, **options: Any) -> Expert:
    """The demonstrator for ``env``: ``"scripted"`` or a path to a saved SB3 model."""
    env_id = env.spec.id if env.spec is not None else ""
    if expert == "scripted":
        if env_id not in SCRIPTED_EXPERTS:
            known = ", ".join(SCRIPTED_EXPERTS)
            raise ValueError(f"no scripted expert for {env_id!r} (scripted: {known}); pass a model path")
        module, cls = SCRIPTED_EXPERTS[env_id].split(":")
        return getattr(importlib.import_module(module), cls)(env, seed=seed, **options)
    return SB3Expert(load_sb3_model(expert, algo))
