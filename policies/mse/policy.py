"""``MseBcPolicy``: plain behaviour cloning of action chunks by L2 regression.

Same chunking, normalization, backbone family and training loop as ``DiffusionPolicy``, but the
network maps the observation history straight to the normalized action chunk: it is called with an
all-zero input chunk and step 0 (the backbone's step embedding becomes a constant). One network
pass per chunk; a multimodal demonstration distribution is averaged (the baseline diffusion beats).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..base import ChunkPolicyBase
from ..config import PolicyConfig
from ..normalizer import Normalizer


class MseBcPolicy(ChunkPolicyBase):
    """Deterministic chunk regressor (``config.kind == "mse"``); sampler settings are ignored."""

    def __init__(self, config: PolicyConfig, normalizer: Normalizer | None = None) -> None:
        if config.kind != "mse":
            raise ValueError(f"MseBcPolicy needs config.kind 'mse', got {config.kind!r}")
        super().__init__(config, normalizer)

    def regress(self, cond: Tensor, *, net: nn.Module | None = None) -> Tensor:
        """Condition ``(B, Dc)`` → normalized chunk ``(B, H, Da)`` (default: the inference network)."""
        B = cond.shape[0]
        x = torch.zeros((B, self.config.pred_horizon, self.config.action_dim), device=cond.device)  # (B, H, Da)
        t = torch.zeros((B,), device=cond.device)  # (B,)
        return (net if net is not None else self.inference_call)(x, t, cond)

    def compute_loss(self, obs: Tensor, actions: Tensor, *, net: nn.Module | None = None) -> Tensor:
        """MSE between the predicted and demonstrated normalized chunks; ``obs (B, To, Do)`` and
        ``actions (B, H, Da)`` normalized; ``net`` defaults to the live ``model``."""
        cond = obs.reshape(obs.shape[0], -1)  # (B, To·Do)
        return F.mse_loss(self.regress(cond, net=net if net is not None else self.model), actions)

    @torch.no_grad()
    def predict_chunk(self, obs_history: np.ndarray | Tensor, *, sampler: str | None = None,
                      steps: int | None = None, generator: torch.Generator | None = None) -> np.ndarray:
        """Raw history ``(To, Do)`` → ``(H, Da)`` or ``(B, To, Do)`` → ``(B, H, Da)`` float32 raw actions.
        ``sampler``, ``steps`` and ``generator`` are accepted for interface parity and ignored."""
        obs, single = self.prepare_obs_history(obs_history)
        return self._finish(self.regress(self.encode_obs(obs)), single)
