"""Load a trained policy checkpoint for a given environment and wrap it for the control loop."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym


def load_for_env(path: str | Path, env: gym.Env | None, env_id: str | None = None) -> Any:
    """Load the checkpoint at ``path``, checking it fits ``env`` (id, observation and action dims)."""
    from parapolicy.policies import load_policy

    kwargs: dict[str, Any] = {}
    if env is not None:
        kwargs = {"expect_obs_dim": int(env.observation_space.shape[0]),
                  "expect_action_dim": int(env.action_space.shape[0])}
    return load_policy(path, expect_env_id=env_id or (env.spec.id if env is not None and env.spec else None),
                       **kwargs)


def load_checkpoint_policy(path: str | Path, env: gym.Env, *, sampler: str | None = None,
                           steps: int | None = None, seed: int = 0) -> Any:
    """A ``Policy`` (reset/act) running the checkpoint at ``path`` in ``env``."""
    from parapolicy.policies import ChunkedPolicy

    return ChunkedPolicy(load_for_env(path, env), sampler=sampler, steps=steps, seed=seed)
