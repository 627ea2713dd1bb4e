"""Denoiser networks: shapes, per-row timesteps, conditioning, transformer causality, sizes."""
import pytest
import torch

from parapolicy.policies import ConditionalUnet1D, PolicyConfig, TransformerDenoiser, make_network, make_policy
from parapolicy.policies.mlp import ResidualMLPDenoiser


@pytest.mark.parametrize("net", [
    ConditionalUnet1D(2, 12, down_dims=(16, 32, 64), n_groups=4, step_embed_dim=16),
    TransformerDenoiser(2, 16, 12, 2, n_layer=2, n_head=2, n_emb=32, p_drop=0.0),
    ResidualMLPDenoiser(2, 16, 12, width=32, blocks=2, step_embed_dim=16),
], ids=["unet", "transformer", "mlp"])
def test_shapes_per_row_time_and_conditioning(net):
    net.eval()
    g = torch.Generator().manual_seed(0)
    x, c = torch.randn(3, 16, 2, generator=g), torch.randn(3, 12, generator=g)
    t = torch.tensor([0.0, 50.0, 99.0])
    out = net(x, t, c)
    assert out.shape == (3, 16, 2)
    # rows are independent: each row equals the row evaluated alone at its own t
    for b in range(3):
        torch.testing.assert_close(net(x[b:b + 1], t[b:b + 1], c[b:b + 1]), out[b:b + 1], rtol=1e-4, atol=1e-5)
    # t and cond both matter
    assert not torch.allclose(net(x, t + 10, c), out)
    assert not torch.allclose(net(x, t, c + 1), out)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


def test_causal_transformer_ignores_future_actions():
    net = TransformerDenoiser(2, 8, 6, 2, n_layer=2, n_head=2, n_emb=16, p_drop=0.0, causal_attn=True).eval()
    x = torch.randn(1, 8, 2)
    y = x.clone()
    y[:, 5:] += 1.0
    a, b = net(x, torch.tensor([3.0]), torch.zeros(1, 6)), net(y, torch.tensor([3.0]), torch.zeros(1, 6))
    torch.testing.assert_close(a[:, :5], b[:, :5])
    assert not torch.allclose(a[:, 5:], b[:, 5:])
    full = TransformerDenoiser(2, 8, 6, 2, n_layer=1, n_head=2, n_emb=16, p_drop=0.0, causal_attn=False).eval()
    assert not torch.allclose(full(x, torch.tensor([3.0]), torch.zeros(1, 6))[:, :5],
                              full(y, torch.tensor([3.0]), torch.zeros(1, 6))[:, :5])


def test_default_sizes():
    """Documented default parameter counts for a Fork-like task (Do = 6, Da = 2)."""
    unet = make_network(PolicyConfig(obs_dim=6, action_dim=2))
    tf = make_network(PolicyConfig(obs_dim=6, action_dim=2, denoiser="transformer"))
    n_unet = sum(p.numel() for p in unet.parameters())
    n_tf = sum(p.numel() for p in tf.parameters())
    assert 0.5e6 < n_unet < 2e6, n_unet
    assert 0.3e6 < n_tf < 1.5e6, n_tf
    p = make_policy(PolicyConfig(obs_dim=6, action_dim=2))
    assert p.num_parameters() == n_unet  # the EMA copy is not counted
    assert p.action_offset == 1 and p.timesteps.tolist()[-1] == -1 and len(p.timesteps) == 11


def test_mlp_denoiser_from_config_sees_the_whole_chunk_and_round_trips(tmp_path):
    """denoiser=mlp: sized by mlp_width/mlp_blocks, every output position depends on every input
    position (no locality), and a policy built on it saves and loads like the others."""
    from parapolicy.policies.checkpoint import load_policy, save_checkpoint

    cfg = PolicyConfig(obs_dim=6, action_dim=2, denoiser="mlp", mlp_width=64, mlp_blocks=2, objective="flow")
    net = make_network(cfg).eval()
    assert isinstance(net, ResidualMLPDenoiser) and len(net.blocks) == 2 and net.inp.out_features == 64
    x = torch.randn(1, 16, 2)
    y = x.clone()
    y[:, -1] += 1.0  # move only the last action
    t, c = torch.tensor([0.5]), torch.zeros(1, 12)
    assert not torch.allclose(net(x, t, c)[:, 0], net(y, t, c)[:, 0])
    pol = make_policy(cfg)
    loaded = load_policy(save_checkpoint(pol, tmp_path / "mlp"))
    assert loaded.config.denoiser == "mlp" and loaded.config.mlp_width == 64
    for a, b in zip(pol.inference_net.parameters(), loaded.inference_net.parameters()):
        torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="mlp_width"):
        PolicyConfig(obs_dim=6, action_dim=2, denoiser="mlp", mlp_width=0)
    with pytest.raises(ValueError, match="allowed: unet, transformer, mlp"):
        PolicyConfig(obs_dim=6, action_dim=2, denoiser="resnet")


def test_one_block_per_level_unet_keeps_the_two_block_names_of_its_blocks():
    """level_blocks=1 leaves out the second block of every level: fewer parameters and modules, every
    tensor name (and shape) is one of the 2-block network's, so a 2-block state loads into it whole;
    it still maps (B, H, Da) to (B, H, Da) and depends on its input."""
    base = dict(obs_dim=6, action_dim=2, down_dims=(16, 32, 64), n_groups=4, step_embed_dim=16)
    two = make_network(PolicyConfig(**base)).eval()
    one = make_network(PolicyConfig(**base, level_blocks=1)).eval()
    s2, s1 = two.state_dict(), one.state_dict()
    assert set(s1) < set(s2) and all(s1[k].shape == s2[k].shape for k in s1)
    assert sum(p.numel() for p in one.parameters()) < 0.8 * sum(p.numel() for p in two.parameters())
    one.load_state_dict({k: s2[k] for k in s1})
    x, c, t = torch.randn(2, 16, 2), torch.randn(2, 12), torch.tensor([3.0, 40.0])
    with torch.no_grad():
        out = one(x, t, c)
        assert out.shape == (2, 16, 2) and not torch.allclose(one(x + 0.5, t, c), out)
        assert not torch.allclose(out, two(x, t, c))  # the left-out blocks did something
    for bad in (0, 3, True, 1.0):
        with pytest.raises(ValueError, match="level_blocks must be 1 or 2"):
            PolicyConfig(**base, level_blocks=bad)
