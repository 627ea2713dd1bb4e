"""parapolicy tasks: MuJoCo environments registered with gymnasium under ``parapolicy/``.

Importing this package registers every task. :func:`make_env` is the one entry point scripts use; it
accepts our ids (``parapolicy/Fork-v0``, or the short ``Fork-v0``) and the gymnasium MuJoCo v5 tasks,
and rejects anything else with a message that lists the known ids.
"""
from __future__ import annotations

from typing import Any

import gymnasium as gym

#: Our own tasks: gymnasium id -> (entry point, max episode steps).
OWN_TASKS: dict[str, tuple[str, int]] = {
    "parapolicy/Fork-v0": ("parapolicy.envs.fork:ForkEnv", 80),
    "parapolicy/PushT-v0": ("parapolicy.envs.pusht:PushTEnv", 300),
}

#: gymnasium MuJoCo tasks every script accepts through the same ``env`` config group.
EXTERNAL_TASKS: tuple[str, ...] = (
    "Hopper-v5",
    "Walker2d-v5",
    "HalfCheetah-v5",
    "Reacher-v5",
    "InvertedDoublePendulum-v5",
    "InvertedPendulum-v5",
    "Ant-v5",
    "Swimmer-v5",
)


class UnknownEnvError(ValueError):
    """Raised for an environment id that parapolicy does not know."""


def register_envs() -> None:
    """Register our tasks with gymnasium (idempotent)."""
    for env_id, (entry, steps) in OWN_TASKS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry, max_episode_steps=steps)


def known_env_ids() -> list[str]:
    """All ids :func:`make_env` accepts, ours first."""
    return list(OWN_TASKS) + list(EXTERNAL_TASKS)


def canonical_env_id(env_id: str) -> str:
    """Map a short id (``Fork-v0``) to its registered id; raise :class:`UnknownEnvError` otherwise."""
    if env_id in OWN_TASKS or env_id in EXTERNAL_TASKS:
        return env_id
    prefixed = f"parapolicy/{env_id}"
    if prefixed in OWN_TASKS:
        return prefixed
    raise UnknownEnvError(f"unknown env id {env_id!r}; known ids: {', '.join(known_env_ids())}")


def make_env(env_id: str, **kwargs: Any) -> gym.Env:
    """Create a registered task by id (gymnasium wrappers included, e.g. the time limit)."""
    register_envs()
    return gym.make(canonical_env_id(env_id), **kwargs)


register_envs()

__all__ = [
    "EXTERNAL_TASKS",
    "OWN_TASKS",
    "UnknownEnvError",
    "canonical_env_id",
    "known_env_ids",
    "make_env",
    "register_envs",
]
