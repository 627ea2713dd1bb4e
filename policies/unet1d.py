"""Conditional 1-D temporal U-Net denoiser (the Diffusion Policy CNN design, Chi et al. 2023).

The action chunk is a 1-D signal over time with ``Da`` channels. Residual blocks of two
Conv1d → GroupNorm → Mish layers are modulated by FiLM (a per-channel scale and bias) computed from
the conditioning vector ``[step embedding ; observation features]``. The encoder halves the time
axis between levels (strided conv), the decoder doubles it back (transposed conv) with skip
connections; widths come from ``down_dims``.

Call: ``net(x (B, H, Da), t (B,) float network time, cond (B, Dc)) -> (B, H, Da)``.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from .embedding import SinusoidalEmbedding


class ConvNormMish(nn.Sequential):
    """Conv1d (same length) → GroupNorm → Mish."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, n_groups: int) -> None:
        super().__init__(nn.Conv1d(c_in, c_out, kernel_size, padding=kernel_size // 2),
                         nn.GroupNorm(n_groups, c_out), nn.Mish())


class FiLMResidualBlock(nn.Module):
    """Two conv layers; the conditioning scales and shifts the first layer's output per channel."""

    def __init__(self, c_in: int, c_out: int, cond_dim: int, kernel_size: int, n_groups: int) -> None:
        super().__init__()
        self.conv1 = ConvNormMish(c_in, c_out, kernel_size, n_groups)
        self.conv2 = ConvNormMish(c_out, c_out, kernel_size, n_groups)
        self.film = nn.Sequential(nn.Mish(), nn.Linear(cond_dim, 2 * c_out))
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        self.c_out = c_out

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        h = self.conv1(x)  # (B, C, L)
        scale, bias = self.film(cond).unsqueeze(-1).chunk(2, dim=1)  # (B, C, 1) each
        h = self.conv2(scale * h + bias)
        return h + self.skip(x)


class ConditionalUnet1D(nn.Module):
    """FiLM-conditioned temporal U-Net over action chunks.

    ``action_dim`` Da, ``cond_dim`` Dc (flattened observation features), ``down_dims`` channel
    widths per level (the time axis halves between levels, so H must be divisible by
    ``2 ** (len(down_dims) - 1)``), ``kernel_size``, ``n_groups`` (GroupNorm), ``step_embed_dim``,
    ``mid_blocks`` residual blocks at the bottleneck (2 in Chi et al.). A distilled student may drop
    them to make each call cheaper: each is about a tenth of a batch-1 forward on a 2-core CPU, but
    dropping them cost the Push-T keypoint student more success than it saved time (README, stop 25).
    ``level_blocks`` (2 or 1): residual blocks per encoder and decoder level. With 1, the second
    (same-width) block of every level is left out but keeps its slot, so the parameter names of the
    blocks that remain are those of the 2-block network and a finisher can start from a teacher's
    weights with only its residual refinements removed (``planners.finisher``).
    """

    def __init__(self, action_dim: int, cond_dim: int, *, down_dims: Sequence[int] = (32, 64, 128),
                 kernel_size: int = 5, n_groups: int = 8, step_embed_dim: int = 32, mid_blocks: int = 2,
                 level_blocks: int = 2) -> None:
        super().__init__()
        if level_blocks not in (1, 2):
            raise ValueError(f"level_blocks must be 1 or 2, got {level_blocks!r}")
        self.level_blocks = int(level_blocks)
        dims = [int(action_dim), *[int(d) for d in down_dims]]
        self.step_encoder = nn.Sequential(SinusoidalEmbedding(step_embed_dim),
                                          nn.Linear(step_embed_dim, 4 * step_embed_dim), nn.Mish(),
                                          nn.Linear(4 * step_embed_dim, step_embed_dim))
        film_dim = step_embed_dim + int(cond_dim)
        levels = list(zip(dims[:-1], dims[1:]))  # (c_in, c_out) per encoder level
        self.down = nn.ModuleList()
        second = level_blocks == 2
        for i, (c_in, c_out) in enumerate(levels):
            last = i == len(levels) - 1
            self.down.append(nn.ModuleList([
                FiLMResidualBlock(c_in, c_out, film_dim, kernel_size, n_groups),
                FiLMResidualBlock(c_out, c_out, film_dim, kernel_size, n_groups) if second else nn.Identity(),
                nn.Conv1d(c_out, c_out, 3, stride=2, padding=1) if not last else nn.Identity(),
            ]))
        mid = dims[-1]
        self.mid = nn.ModuleList([FiLMResidualBlock(mid, mid, film_dim, kernel_size, n_groups)
                                  for _ in range(int(mid_blocks))])
        self.up = nn.ModuleList()
        for c_in, c_out in reversed(levels[1:]):  # each decoder level undoes one downsampling
            self.up.append(nn.ModuleList([
                FiLMResidualBlock(2 * c_out, c_in, film_dim, kernel_size, n_groups),
                FiLMResidualBlock(c_in, c_in, film_dim, kernel_size, n_groups) if second else nn.Identity(),
                nn.ConvTranspose1d(c_in, c_in, 4, stride=2, padding=1),
            ]))
        start = dims[1]
        self.final = nn.Sequential(ConvNormMish(start, start, kernel_size, n_groups),
                                   nn.Conv1d(start, int(action_dim), 1))

    def forward(self, x: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        """``x (B, H, Da)``, ``t (B,)`` network time, ``cond (B, Dc)`` → ``(B, H, Da)``."""
        film = torch.cat([self.step_encoder(t.expand(x.shape[0])), cond], dim=-1)  # (B, E + Dc)
        h = x.transpose(1, 2)  # (B, Da, H)
        skips = []
        two = self.level_blocks == 2
        for block1, block2, downsample in self.down:
            h = block1(h, film)
            h = block2(h, film) if two else h
            skips.append(h)
            h = downsample(h)
        for block in self.mid:
            h = block(h, film)
        for block1, block2, upsample in self.up:
            h = torch.cat([h, skips.pop()], dim=1)  # (B, 2C, L)
            h = block1(h, film)
            h = upsample(block2(h, film) if two else h)
        return self.final(h).transpose(1, 2)  # (B, H, Da)
