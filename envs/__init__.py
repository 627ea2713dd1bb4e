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
    "parapolicy/PushTKeypoints-v0": ("parapolicy.envs.pusht:PushTEnv", 300),
}
#: Constructor arguments that distinguish ids sharing an entry point.
TASK_KWARGS: dict[str, dict[str, Any]] = {"parapolicy/PushTKeypoints-v0": {"obs_mode": "keypoints"}}

#: (id a dataset was collected on, id it is used for) -> "module:function" mapping observations
#: ``(..., Do_from)`` to the target task's ``(..., Do_to)``; only exact, state-determined conversions.
OBS_CONVERSIONS: dict[tuple[str, str], str] = {
    ("parapolicy/PushT-v0", "parapolicy/PushTKeypoints-v0"): "parapolicy.envs.pusht:keypoint_observation",
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
            gym.register(id=env_id, entry_point=entry, max_episode_steps=steps,
                         kwargs=dict(TASK_KWARGS.get(env_id, {})))


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


def demos_for_env(demos: Any, env_id: str, where: str = "dataset") -> Any:
    """``demos`` (a ``DemoSet``) as observed by task ``env_id``.

    Unchanged when it was collected there (or records no task); converted observation by observation
    when :data:`OBS_CONVERSIONS` has an exact conversion (e.g. Push-T state → keypoints); otherwise
    ``ValueError`` naming both tasks. ``where`` names the file in the message.
    """
    from dataclasses import replace
    from importlib import import_module

    source = demos.attrs.get("env_id")
    if source in (None, env_id):
        return demos
    key = (source, env_id)
    if key not in OBS_CONVERSIONS:
        raise ValueError(f"{where} was collected on {source}, not {env_id}")
    module, name = OBS_CONVERSIONS[key].split(":")
    convert = getattr(import_module(module), name)
    episodes = [replace(e, obs=convert(e.obs)) for e in demos.episodes]
    return replace(demos, episodes=episodes, attrs={**demos.attrs, "env_id": env_id, "converted_from": source})


register_envs()

__all__ = [
    "EXTERNAL_TASKS",
    "OBS_CONVERSIONS",
    "OWN_TASKS",
    "UnknownEnvError",
    "canonical_env_id",
    "demos_for_env",
    "known_env_ids",
    "make_env",
    "register_envs",
]
