"""Normalizer and ChunkDataset: ranges, constant dims, alignment, edge padding, errors."""
import numpy as np
import pytest
import torch

from parapolicy.policies import ChunkDataset, Normalizer, PolicyConfig, RangeNormalizer, TrainConfig


def test_range_normalizer_maps_to_unit_box_and_inverts():
    rng = np.random.default_rng(0)
    data = rng.uniform([-3, 0, 5], [2, 10, 5], size=(200, 3))  # third dim constant
    norm = RangeNormalizer.fit(data)
    y = norm.normalize(data)
    assert np.allclose(y[:, :2].min(0), -1) and np.allclose(y[:, :2].max(0), 1)
    assert np.allclose(y[:, 2], 0.0)  # constant dim: shifted to 0, not divided by zero
    np.testing.assert_allclose(norm.unnormalize(y), data, rtol=1e-12, atol=1e-12)
    t = torch.as_tensor(data, dtype=torch.float32)
    torch.testing.assert_close(norm.normalize(t), torch.as_tensor(y, dtype=torch.float32))
    torch.testing.assert_close(norm.unnormalize(norm.normalize(t)), t, rtol=1e-5, atol=1e-5)
    assert norm.normalize(t).dtype == torch.float32
    again = RangeNormalizer.from_state_dict(norm.state_dict())
    np.testing.assert_array_equal(again.normalize(data), y)
    with pytest.raises(ValueError, match="last dimension 3"):
        norm.normalize(np.zeros((4, 2)))


def test_normalizer_fields_roundtrip():
    n = Normalizer.fit(obs=[np.arange(12.0).reshape(6, 2)], action=np.ones((5, 1)))
    d = Normalizer.from_state_dict(n.state_dict())
    np.testing.assert_allclose(d.normalize("obs", np.array([[0.0, 11.0]])), [[-1.0, 1.0]], atol=1e-12)
    with pytest.raises(KeyError, match="has: obs, action"):
        n["goal"]


def make_episode(T, Do=3, Da=2, offset=0.0):
    """Obs frame t = [t, t, t] + offset, action t = [t, -t]: easy to read back after padding."""
    t = np.arange(T, dtype=np.float64)[:, None]
    return np.repeat(t, Do, 1) + offset, np.concatenate([t, -t], 1)[:, :Da]


def test_chunk_alignment_and_edge_padding():
    o1, a1 = make_episode(12)
    o2, a2 = make_episode(20, offset=100.0)
    norm = Normalizer.identity(obs=3, action=2)  # raw values come back unchanged
    ds = ChunkDataset([o1, o2], [a1, a2], obs_horizon=2, pred_horizon=8, action_horizon=4, normalizer=norm)
    # s in 0 … T - 1 - (H - To - Ta + 1) = T - 4: 9 + 17 samples
    assert len(ds) == 9 + 17
    first = ds[0]
    assert first["obs"].shape == (2, 3) and first["action"].shape == (8, 2)
    assert first["obs"].dtype == torch.float32
    # s = 0: obs frames (-1, 0) → first frame repeated; actions -1 … 6 → first action repeated
    np.testing.assert_array_equal(first["obs"][:, 0].numpy(), [0, 0])
    np.testing.assert_array_equal(first["action"][:, 0].numpy(), [0, 0, 1, 2, 3, 4, 5, 6])
    # s = 5: obs 4, 5; actions 4 … 11
    mid = ds[5]
    np.testing.assert_array_equal(mid["obs"][:, 0].numpy(), [4, 5])
    np.testing.assert_array_equal(mid["action"][:, 0].numpy(), np.arange(4, 12))
    # last sample of episode 1 (s = 8): actions 7 … 14 → 11 repeated at the end; the Ta executed
    # actions (chunk indices 1 … 4, steps 8 … 11) are all real
    last = ds[8]
    np.testing.assert_array_equal(last["action"][:, 0].numpy(), [7, 8, 9, 10, 11, 11, 11, 11])
    # episode 2 starts afresh: nothing leaks across the episode boundary
    e2 = ds[9]
    np.testing.assert_array_equal(e2["obs"][:, 0].numpy(), [100, 100])
    np.testing.assert_array_equal(e2["action"][:, 1].numpy(), -np.array([0, 0, 1, 2, 3, 4, 5, 6]))
    batch = ds.get_batch([0, 5, 8, 9])
    assert batch["obs"].shape == (4, 2, 3) and batch["action"].shape == (4, 8, 2)
    torch.testing.assert_close(batch["action"][1], mid["action"])


def test_dataset_normalizes_with_fitted_stats():
    rng = np.random.default_rng(1)
    obs = [rng.normal(size=(30, 4)) * 5 for _ in range(3)]
    act = [rng.normal(size=(30, 2)) * 3 + 10 for _ in range(3)]
    ds = ChunkDataset(obs, act, obs_horizon=2, pred_horizon=16, action_horizon=8)
    b = ds.get_batch(range(len(ds)))
    assert b["obs"].abs().max() <= 1.0 + 1e-6 and b["action"].abs().max() <= 1.0 + 1e-6
    assert ds.normalizer["action"].dim == 2


def test_too_short_and_inconsistent_data_raise():
    o, a = make_episode(5)
    with pytest.raises(ValueError, match=r"too short: need at least 8 steps.*0 \(5 steps\)"):
        ChunkDataset([o], [a], obs_horizon=2, pred_horizon=16, action_horizon=8)
    o2, a2 = make_episode(20)
    with pytest.raises(ValueError, match="episode 0: 20 observations but 19 actions"):
        ChunkDataset([o2], [a2[:-1]], obs_horizon=2, pred_horizon=16, action_horizon=8)
    with pytest.raises(ValueError, match="differ from episode 0"):
        ChunkDataset([o2, o2[:, :2]], [a2, a2], obs_horizon=2, pred_horizon=16, action_horizon=8)
    with pytest.raises(ValueError, match="no episodes"):
        ChunkDataset([], [], obs_horizon=2, pred_horizon=16, action_horizon=8)
    bad = o2.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ChunkDataset([bad], [a2], obs_horizon=2, pred_horizon=16, action_horizon=8)
    with pytest.raises(ValueError, match="must be"):
        ChunkDataset([o2[:, 0]], [a2], obs_horizon=2, pred_horizon=16, action_horizon=8)


def test_config_validation_lists_allowed_values():
    with pytest.raises(ValueError, match="allowed: diffusion, mse"):
        PolicyConfig(obs_dim=2, action_dim=2, kind="gan")
    with pytest.raises(ValueError, match="allowed: unet, transformer, mlp"):
        PolicyConfig(obs_dim=2, action_dim=2, denoiser="resnet")
    with pytest.raises(ValueError, match="allowed: flow"):
        PolicyConfig(obs_dim=2, action_dim=2, objective="flow", sampler="ddim")
    with pytest.raises(ValueError, match="obs_horizon - 1 \\+ action_horizon <= pred_horizon"):
        PolicyConfig(obs_dim=2, action_dim=2, action_horizon=16)
    with pytest.raises(ValueError, match="divisible"):
        PolicyConfig(obs_dim=2, action_dim=2, pred_horizon=10)
    with pytest.raises(ValueError, match="ending at -1"):
        PolicyConfig(obs_dim=2, action_dim=2, timesteps=[99, 50, 0])
    with pytest.raises(ValueError, match="allowed: auto, cpu, cuda"):
        TrainConfig(device="tpu")
    with pytest.raises(ValueError, match="unknown policy config field"):
        PolicyConfig.from_dict({"obs_dim": 2, "action_dim": 2, "widht": 3})
    cfg = PolicyConfig(obs_dim=2, action_dim=2, timesteps=[99, 49, -1])
    assert cfg.sampler == "ddim" and cfg.num_inference_steps == 2
    assert PolicyConfig.from_dict(cfg.to_dict()) == cfg
    assert PolicyConfig(obs_dim=2, action_dim=2, objective="flow").sampler == "flow"
    assert TrainConfig.from_dict(TrainConfig().to_dict()) == TrainConfig()
