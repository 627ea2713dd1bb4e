"""Transformer denoiser over the action sequence (the Diffusion Policy "time-series diffusion
transformer" design, Chi et al. 2023).

Each of the H actions of the noisy chunk is a token (linear embedding + learned positional
embedding). The conditioning is a short token sequence: the sinusoidal step embedding followed by
one token per observation frame (To tokens, each a linear embedding of that frame's features, plus
a learned positional embedding), refined by a small MLP. A pre-norm transformer *decoder* runs
self-attention over the action tokens and cross-attention to the condition tokens. With
``causal_attn`` (the reference default), action token i attends only to action tokens ≤ i and to
the step token and observation tokens up to i (the reference memory mask).

Call: ``net(x (B, H, Da), t (B,) float network time, cond (B, To·Do)) -> (B, H, Da)``; ``cond`` is
the flattened observation history and is split into ``n_cond_tokens`` = To frames.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .embedding import SinusoidalEmbedding


class TransformerDenoiser(nn.Module):
    """Cross-attention transformer denoiser sized by ``n_layer``, ``n_head``, ``n_emb``, ``p_drop``."""

    def __init__(self, action_dim: int, horizon: int, cond_dim: int, n_cond_tokens: int, *, n_layer: int = 4,
                 n_head: int = 4, n_emb: int = 128, p_drop: float = 0.1, causal_attn: bool = True) -> None:
        super().__init__()
        if cond_dim % n_cond_tokens:
            raise ValueError(f"cond_dim {cond_dim} must split into {n_cond_tokens} equal observation tokens")
        self.horizon, self.n_cond_tokens = int(horizon), int(n_cond_tokens)
        self.token_dim = cond_dim // n_cond_tokens
        self.input_emb = nn.Linear(action_dim, n_emb)
        self.pos_emb = nn.Parameter(torch.zeros(1, horizon, n_emb))  # (1, H, E)
        self.step_emb = SinusoidalEmbedding(n_emb)
        self.cond_obs_emb = nn.Linear(self.token_dim, n_emb)
        self.cond_pos_emb = nn.Parameter(torch.zeros(1, 1 + n_cond_tokens, n_emb))  # (1, 1 + To, E)
        self.cond_encoder = nn.Sequential(nn.Linear(n_emb, 4 * n_emb), nn.Mish(), nn.Linear(4 * n_emb, n_emb))
        self.drop = nn.Dropout(p_drop)
        layer = nn.TransformerDecoderLayer(d_model=n_emb, nhead=n_head, dim_feedforward=4 * n_emb, dropout=p_drop,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.decoder = nn.TransformerDecoder(layer, num_layers=n_layer)
        self.ln_f = nn.LayerNorm(n_emb)
        self.head = nn.Linear(n_emb, action_dim)
        if causal_attn:
            # additive masks: -inf where attention is not allowed
            i = torch.arange(horizon)
            tgt = torch.zeros(horizon, horizon).masked_fill(i[None, :] > i[:, None], float("-inf"))  # (H, H)
            s = torch.arange(1 + n_cond_tokens)
            mem = torch.zeros(horizon, 1 + n_cond_tokens).masked_fill(s[None, :] > i[:, None] + 1,
                                                                      float("-inf"))  # (H, 1 + To)
            self.register_buffer("tgt_mask", tgt, persistent=False)
            self.register_buffer("memory_mask", mem, persistent=False)
        else:
            self.tgt_mask = None
            self.memory_mask = None
        self.apply(self._init_weights)
        nn.init.normal_(self.pos_emb, std=0.02)
        nn.init.normal_(self.cond_pos_emb, std=0.02)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def forward(self, x: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        """``x (B, H, Da)``, ``t (B,)`` network time, ``cond (B, To·Do)`` → ``(B, H, Da)``."""
        B = x.shape[0]
        step_tok = self.step_emb(t.expand(B)).unsqueeze(1)  # (B, 1, E)
        obs_tok = self.cond_obs_emb(cond.reshape(B, self.n_cond_tokens, self.token_dim))  # (B, To, E)
        memory = self.cond_encoder(self.drop(torch.cat([step_tok, obs_tok], dim=1) + self.cond_pos_emb))  # (B, 1+To, E)
        h = self.drop(self.input_emb(x) + self.pos_emb)  # (B, H, E)
        h = self.decoder(h, memory, tgt_mask=self.tgt_mask, memory_mask=self.memory_mask)
        return self.head(self.ln_f(h))  # (B, H, Da)
