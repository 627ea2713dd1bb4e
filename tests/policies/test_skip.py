"""x0_skip: a flow network that predicts a correction to x_t, starting as the identity."""
import pytest
import torch

from parapolicy.policies import PolicyConfig, load_policy, make_network, make_policy, save_checkpoint
from parapolicy.policies.skip import X0Skip

FIELDS = {"unet": {"down_dims": (16, 32), "n_groups": 4}, "mlp": {"mlp_width": 32, "mlp_blocks": 1},
          "transformer": {"n_layer": 1, "n_head": 2, "n_emb": 16, "p_drop": 0.0}}


@pytest.mark.parametrize("denoiser", sorted(FIELDS))
def test_skip_network_starts_as_the_identity_and_its_x0_is_x_t_plus_its_output(denoiser):
    """A fresh skip network returns v = 0 (so the sampler's x0 = x_t − t·v is x_t itself); once its
    output layer is not zero, x_t − t·v equals x_t + r for the inner network's output r, at the
    flow time t = τ / num_train_steps of each row."""
    cfg = PolicyConfig(obs_dim=6, action_dim=2, objective="flow", denoiser=denoiser, x0_skip=True,
                       **FIELDS[denoiser])
    net = make_network(cfg).eval()
    assert isinstance(net, X0Skip)
    g = torch.Generator().manual_seed(0)
    x, c = torch.randn(3, 16, 2, generator=g), torch.randn(3, 12, generator=g)  # (B, H, Da), (B, Dc)
    t = torch.tensor([0.002, 0.05, 0.5])  # flow time per row
    tau = t * cfg.num_train_steps  # (B,) network time
    assert torch.equal(net(x, tau, c), torch.zeros_like(x))
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.01 * torch.randn(p.shape, generator=g))
        r = net.net(x, tau, c)  # (B, H, Da)
        x0 = x - t[:, None, None] * net(x, tau, c)
    assert r.abs().max() > 1e-3
    torch.testing.assert_close(x0, x + r, rtol=1e-4, atol=1e-5)


def test_skip_needs_flow_and_a_boolean_and_round_trips(tmp_path):
    with pytest.raises(ValueError, match="x0_skip needs objective flow"):
        PolicyConfig(obs_dim=6, action_dim=2, objective="ddpm", x0_skip=True)
    with pytest.raises(ValueError, match="x0_skip must be a boolean"):
        PolicyConfig(obs_dim=6, action_dim=2, objective="flow", x0_skip=1)
    # as one expert of a 2-step student: the skip expert is built, saved and loaded with its weights
    cfg = PolicyConfig(obs_dim=6, action_dim=2, objective="flow", timesteps=[1.0, 0.01, 0.0], level_experts=True,
                       expert_nets=[None, {"denoiser": "mlp", "mlp_width": 16, "mlp_blocks": 1, "x0_skip": True}],
                       down_dims=(16, 32), n_groups=4)
    pol = make_policy(cfg)
    first, second = pol.model.experts
    assert not isinstance(first, X0Skip) and isinstance(second, X0Skip)
    with torch.no_grad():
        for p in second.parameters():
            p.add_(0.1)
    pol.ema.load_state_dict(pol.model.state_dict())
    save_checkpoint(pol, tmp_path / "s")
    back = load_policy(tmp_path / "s")
    assert back.config.expert_nets[1]["x0_skip"] is True
    x, c = torch.randn(2, 16, 2), torch.randn(2, 12)
    tau = torch.full((2,), 0.01 * cfg.num_train_steps)
    with torch.no_grad():
        torch.testing.assert_close(back.inference_net(x, tau, c), pol.inference_net(x, tau, c))
        assert back.inference_net(x, tau, c).abs().max() > 0


def test_a_traced_skip_expert_matches_the_eager_one_at_any_batch():
    """``trace_inference`` on a student with a skip expert: the traced calls equal the eager ones at the
    skip expert's level, for batch 1 (the traced example's) and batch 3."""
    cfg = PolicyConfig(obs_dim=6, action_dim=2, objective="flow", timesteps=[1.0, 0.02, 0.0], level_experts=True,
                       expert_nets=[None, {"denoiser": "mlp", "mlp_width": 16, "mlp_blocks": 1, "x0_skip": True}],
                       down_dims=(16, 32), n_groups=4)
    pol = make_policy(cfg)
    with torch.no_grad():
        for p in pol.model.experts[1].parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=torch.Generator().manual_seed(1)))
    pol.ema.load_state_dict(pol.model.state_dict())
    pol.eval()
    pol.trace_inference()
    assert pol.inference_call is not pol.inference_net
    for b in (1, 3):
        x, c = torch.randn(b, 16, 2), torch.randn(b, 12)
        tau = torch.full((b,), 0.02 * cfg.num_train_steps)
        with torch.no_grad():
            eager = pol.inference_net(x, tau, c)
            torch.testing.assert_close(pol.inference_call(x, tau, c), eager, rtol=1e-4, atol=1e-4)
        assert eager.abs().max() > 1e-3
