"""Turn the scripts' policy arguments (the expert, or a checkpoint directory) into a control-loop policy."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym


def load_control_policy(spec: str, env: gym.Env, *, expert: str = "scripted", seed: int = 0) -> tuple[Any, str]:
    """(policy, short label) for ``spec``: ``expert`` or a policy checkpoint directory."""
    from parapolicy.envs.experts import make_expert

    if spec == "expert":
        label = "expert" if expert == "scripted" else f"expert-{Path(expert).parent.name or 'sb3'}"
        return make_expert(env, expert, seed=seed), label
    path = Path(spec)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint directory {spec} does not exist")
    from parapolicy.scripts.policy_checkpoint import load_checkpoint_policy

    return load_checkpoint_policy(path, env, seed=seed), path.name
