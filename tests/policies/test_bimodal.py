"""Multimodality sanity check: for the same observation the demonstrations act either +0.8 or −0.8.

A diffusion policy (DDPM ancestral and DDIM samples) must reproduce both modes; an MSE policy
averages them to ~0 — the reason diffusion policies exist.
"""
import numpy as np
import pytest
import torch
from policy_helpers import tiny_config

from parapolicy.policies import ChunkDataset, TrainConfig, make_policy, train


def bimodal_demos(n_episodes=40, T=16, seed=0):
    rng = np.random.default_rng(seed)
    obs, act = [], []
    for i in range(n_episodes):
        obs.append(rng.normal(scale=0.01, size=(T, 2)))  # (T, 2): uninformative observations
        sign = 1.0 if i % 2 == 0 else -1.0
        act.append(np.full((T, 1), 0.8 * sign))  # (T, 1): a whole episode in one mode
    return obs, act


def fit(kind, tmp_path):
    cfg = tiny_config(kind, "unet", "ddpm", obs_dim=2, action_dim=1, inference_steps=10)
    obs, act = bimodal_demos()
    ds = ChunkDataset(obs, act, obs_horizon=2, pred_horizon=8, action_horizon=4)
    torch.manual_seed(0)
    policy = make_policy(cfg, ds.normalizer)
    train(policy, ds, TrainConfig(steps=800, batch_size=64, lr=3e-3, warmup_steps=20, ckpt_every=0, log_every=100),
          tmp_path / kind, progress=False)
    return policy.eval()


@pytest.mark.slow  # about 45 s on one core
def test_diffusion_is_bimodal_and_mse_averages(tmp_path):
    hist = np.zeros((200, 2, 2))
    dp = fit("diffusion", tmp_path)
    for sampler, steps, good in (("ddpm", 100, 0.9), ("ddim", 10, 0.8)):
        chunks = dp.predict_chunk(hist, sampler=sampler, steps=steps, generator=torch.Generator().manual_seed(1))
        means = chunks.mean(axis=(1, 2))  # (200,)
        near = np.minimum(np.abs(means - 0.8), np.abs(means + 0.8))
        assert np.mean(near < 0.2) > good, (sampler, np.round(means[:20], 2))
        frac_pos = np.mean(means > 0)
        assert 0.25 < frac_pos < 0.75, (sampler, frac_pos)
    mse = fit("mse", tmp_path)
    avg = mse.predict_chunk(hist)
    assert np.abs(avg).max() < 0.2, np.round(avg[0, :, 0], 2)
