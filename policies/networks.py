"""Build the backbone network a ``PolicyConfig`` asks for (U-Net, transformer or residual MLP)."""
from __future__ import annotations

import dataclasses

from torch import nn

from .config import PolicyConfig
from .mlp import ResidualMLPDenoiser
from .transformer import TransformerDenoiser
from .unet1d import ConditionalUnet1D


def cond_dim(config: PolicyConfig) -> int:
    """Dc: the flattened observation-history features a network is conditioned on (To·Do)."""
    return config.obs_horizon * config.obs_dim


def make_network(config: PolicyConfig) -> nn.Module:
    """``net(x (B, H, Da), t (B,) network time, cond (B, To·Do)) -> (B, H, Da)`` sized by ``config``
    (with ``level_experts``: one such network per step of ``config.timesteps``, ``LevelExperts``;
    with ``x0_skip``: wrapped in ``X0Skip``)."""
    if config.level_experts:
        from .experts import LevelExperts, network_levels

        levels = network_levels(config)
        return LevelExperts([make_network(config.expert_config(i)) for i in range(len(levels))], levels)
    if config.x0_skip:
        from .skip import X0Skip

        return X0Skip(make_network(dataclasses.replace(config, x0_skip=False)), config.num_train_steps)
    if config.denoiser == "unet":
        return ConditionalUnet1D(config.action_dim, cond_dim(config), down_dims=config.down_dims,
                                 kernel_size=config.kernel_size, n_groups=config.n_groups,
                                 step_embed_dim=config.step_embed_dim, mid_blocks=config.mid_blocks,
                                 level_blocks=config.level_blocks)
    if config.denoiser == "transformer":
        return TransformerDenoiser(config.action_dim, config.pred_horizon, cond_dim(config), config.obs_horizon,
                                   n_layer=config.n_layer, n_head=config.n_head, n_emb=config.n_emb,
                                   p_drop=config.p_drop, causal_attn=config.causal_attn)
    if config.denoiser == "mlp":
        return ResidualMLPDenoiser(config.action_dim, config.pred_horizon, cond_dim(config), width=config.mlp_width,
                                   blocks=config.mlp_blocks, step_embed_dim=config.step_embed_dim)
    raise ValueError(f"unknown denoiser {config.denoiser!r}; allowed: unet, transformer, mlp")


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
