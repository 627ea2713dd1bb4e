"""Tiny configs and toy demonstrations that keep policy tests fast on a shared 2-core CPU."""
from __future__ import annotations

import numpy as np

from parapolicy.policies import PolicyConfig

KINDS = [("diffusion", "unet", "ddpm"), ("diffusion", "unet", "flow"), ("diffusion", "transformer", "ddpm"),
         ("diffusion", "transformer", "flow"), ("mse", "unet", "ddpm"), ("mse", "transformer", "ddpm")]
KIND_IDS = ["dp-unet-ddpm", "dp-unet-flow", "dp-tf-ddpm", "dp-tf-flow", "mse-unet", "mse-tf"]


def tiny_config(kind: str = "diffusion", denoiser: str = "unet", objective: str = "ddpm", *, obs_dim: int = 3,
                action_dim: int = 2, **overrides) -> PolicyConfig:
    """A policy small enough to train a few dozen steps in about a second (H = 8, Ta = 4)."""
    base = dict(kind=kind, denoiser=denoiser, objective=objective, obs_dim=obs_dim, action_dim=action_dim,
                obs_horizon=2, pred_horizon=8, action_horizon=4, down_dims=(16, 32), n_groups=4,
                step_embed_dim=16, kernel_size=3, n_layer=1, n_head=2, n_emb=32, p_drop=0.1,
                inference_steps=5)
    base.update(overrides)
    return PolicyConfig(**base)


def toy_demos(n_episodes: int = 6, T: int = 24, obs_dim: int = 3, action_dim: int = 2, seed: int = 0):
    """Smooth random observation paths; actions a fixed nonlinear function of the observation."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(obs_dim, action_dim))
    obs, act = [], []
    for _ in range(n_episodes):
        o = np.cumsum(rng.normal(scale=0.2, size=(T, obs_dim)), axis=0)  # (T, Do)
        obs.append(o)
        act.append(np.tanh(o @ W) * 2.0 + 1.0)  # (T, Da)
    return obs, act
