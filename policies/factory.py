"""Build a policy of the kind a ``PolicyConfig`` names."""
from __future__ import annotations

from .base import ChunkPolicyBase
from .config import POLICY_KINDS, PolicyConfig
from .diffusion import DiffusionPolicy
from .mse import MseBcPolicy
from .normalizer import Normalizer

POLICY_CLASSES: dict[str, type[ChunkPolicyBase]] = {"diffusion": DiffusionPolicy, "mse": MseBcPolicy}


def make_policy(config: PolicyConfig, normalizer: Normalizer | None = None) -> DiffusionPolicy | MseBcPolicy:
    """``DiffusionPolicy`` for kind "diffusion", ``MseBcPolicy`` for kind "mse"."""
    if config.kind not in POLICY_CLASSES:
        raise ValueError(f"unknown policy kind {config.kind!r}; allowed: {', '.join(POLICY_KINDS)}")
    return POLICY_CLASSES[config.kind](config, normalizer)
