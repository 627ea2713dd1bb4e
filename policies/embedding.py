"""Sinusoidal embedding of the (continuous) diffusion step, shared by the denoiser networks."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class SinusoidalEmbedding(nn.Module):
    """``t (B,)`` → ``(B, dim)``: sines and cosines of ``t`` at geometric frequencies 1 … 1/10000."""

    def __init__(self, dim: int, max_period: float = 10000.0) -> None:
        super().__init__()
        if dim < 2 or dim % 2:
            raise ValueError(f"embedding dim must be an even integer >= 2, got {dim}")
        half = dim // 2
        freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / max(half - 1, 1))
        self.register_buffer("freqs", freqs, persistent=False)  # (dim/2,)

    def forward(self, t: Tensor) -> Tensor:
        arg = t.float().reshape(-1, 1) * self.freqs[None]  # (B, dim/2)
        return torch.cat([arg.sin(), arg.cos()], dim=-1)  # (B, dim)
