"""Level experts: one network per sampling step, routed by level, saved and loaded like any policy."""
from __future__ import annotations

import pytest
import torch

from parapolicy.policies.checkpoint import load_policy, save_checkpoint
from parapolicy.policies.config import PolicyConfig
from parapolicy.policies.experts import LevelExperts, load_into, shared_name
from parapolicy.policies.factory import make_policy
from parapolicy.policies.networks import make_network

torch.set_num_threads(1)


def _cfg(**kw) -> PolicyConfig:
    base = dict(obs_dim=3, action_dim=2, pred_horizon=8, action_horizon=4, down_dims=(8, 16), step_embed_dim=8,
                kernel_size=3, objective="flow", timesteps=[1.0, 0.3, 0.0], level_experts=True)
    base.update(kw)
    return PolicyConfig(**base)


def test_each_row_reaches_the_expert_of_its_level() -> None:
    """A mixed batch gives every row what its own expert gives it alone; the experts differ."""
    torch.manual_seed(0)
    net = make_network(_cfg()).eval()
    assert isinstance(net, LevelExperts) and len(net.experts) == 2
    torch.testing.assert_close(net.levels, torch.tensor([100.0, 30.0]))  # flow time × num_train_steps
    x, cond = torch.randn(6, 8, 2), torch.randn(6, 6)  # (B, H, Da), (B, To·Do)
    t = torch.tensor([100.0, 30.0, 30.0, 100.0, 31.0, 99.0])  # nearest level decides
    with torch.no_grad():
        out = net(x, t, cond)
        for i, k in enumerate([0, 1, 1, 0, 1, 0]):
            torch.testing.assert_close(out[i:i + 1], net.experts[k](x[i:i + 1], t[i:i + 1], cond[i:i + 1]))
        assert not torch.allclose(net.experts[0](x, t, cond), net.experts[1](x, t, cond))
        # one level for every row (a sampling call, routed in Python): the nearest level's expert,
        # the same one expert_index picks, for a (B,) and a (1,) time
        for level, k in ((36.0, 1), (64.0, 1), (66.0, 0), (99.5, 0)):
            same = torch.full((6,), level)
            assert int(net.expert_index(same)[0]) == k
            torch.testing.assert_close(net(x, same, cond), net.experts[k](x, same, cond))
            torch.testing.assert_close(net(x, same[:1], cond), net.experts[k](x, same[:1], cond))


def test_single_network_weights_seed_every_expert_and_checkpoints_round_trip(tmp_path) -> None:
    """A teacher's state dict loads into both experts (the student then equals its teacher at every level),
    expert weights refuse to load into a single network, and a saved expert policy samples the same chunk
    after loading."""
    torch.manual_seed(0)
    single = make_network(_cfg(level_experts=False, timesteps=None)).eval()
    pol = make_policy(_cfg()).eval()
    load_into(pol.ema, single.state_dict())
    x, cond = torch.randn(4, 8, 2), torch.randn(4, 6)
    for t in (100.0, 30.0):
        tt = torch.full((4,), t)
        with torch.no_grad():
            torch.testing.assert_close(pol.ema(x, tt, cond), single(x, tt, cond))
    with pytest.raises(ValueError, match="single network"):
        load_into(single, pol.ema.state_dict())
    assert shared_name("experts.1.down.0.weight") == "down.0.weight" and shared_name("down.0.w") == "down.0.w"
    assert pol.num_parameters() == 2 * sum(p.numel() for p in single.parameters())

    pol.ema.experts[1].load_state_dict(make_network(_cfg(level_experts=False, timesteps=None)).state_dict())
    path = save_checkpoint(pol, tmp_path / "experts")
    back = load_policy(path)
    assert back.config.level_experts and isinstance(back.inference_net, LevelExperts)
    obs = torch.randn(5, 2, 3).numpy()
    a = pol.predict_chunk(obs, generator=torch.Generator().manual_seed(1))
    b = back.predict_chunk(obs, generator=torch.Generator().manual_seed(1))
    assert (a == b).all()


def test_level_experts_needs_explicit_boolean_and_timesteps() -> None:
    with pytest.raises(ValueError, match="needs explicit timesteps"):
        _cfg(timesteps=None)
    with pytest.raises(ValueError, match="level_experts must be a boolean"):
        _cfg(level_experts="yes")


def test_expert_nets_give_each_step_its_own_network_size(tmp_path) -> None:
    """expert_nets: step 1's expert drops the U-Net's bottleneck blocks, step 0's keeps them; the
    sizes survive a checkpoint round trip, and malformed entries are refused in one line."""
    torch.manual_seed(0)
    cfg = _cfg(expert_nets=[None, {"mid_blocks": 0}])
    pol = make_policy(cfg).eval()
    full, small = (sum(p.numel() for p in e.parameters()) for e in pol.model.experts)
    assert small < full == sum(p.numel() for p in make_network(_cfg(level_experts=False, timesteps=None)).parameters())
    assert cfg.expert_config(1).mid_blocks == 0 and cfg.expert_config(0).mid_blocks == cfg.mid_blocks
    back = load_policy(save_checkpoint(pol, tmp_path / "mixed"))
    assert back.config.expert_nets == [{}, {"mid_blocks": 0}]
    assert [sum(p.numel() for p in e.parameters()) for e in back.model.experts] == [full, small]
    for kw, msg in ((dict(level_experts=False, timesteps=None, expert_nets=[{}]), "needs level_experts"),
                    (dict(expert_nets=[{}]), "one entry per step"),
                    (dict(expert_nets=[{}, {"width": 3}]), "unknown expert_nets field")):
        with pytest.raises(ValueError, match=msg):
            _cfg(**kw)


def test_traced_level_experts_keep_routing_each_level_to_its_expert() -> None:
    """trace_inference on a level-expert policy traces every expert: a call at the second level still
    reaches the second (here smaller) expert, as the eager network does."""
    torch.manual_seed(0)
    pol = make_policy(_cfg(expert_nets=[None, {"mid_blocks": 0}])).eval()
    x, cond = torch.randn(3, 8, 2), torch.randn(3, 6)  # (B, H, Da), (B, To·Do)
    with torch.no_grad():
        eager = [pol.inference_net(x, torch.full((3,), t), cond) for t in (100.0, 30.0)]
        pol.trace_inference()
        assert pol.traced
        for t, want in zip((100.0, 30.0), eager):
            torch.testing.assert_close(pol.inference_call(x, torch.full((3,), t), cond), want, atol=1e-5, rtol=0)
    assert not torch.allclose(eager[0], eager[1])


def test_cost_timing_of_a_level_expert_student_runs_every_expert() -> None:
    """The cost model's timing call on a level-expert student runs each step's expert once (their sizes
    differ), so its per-call cost is their mean, not the cost of whichever expert t = 0 reaches."""
    from parapolicy.planners.cost_model import _real_timing

    pol = make_policy(_cfg(expert_nets=[None, {"mid_blocks": 0}])).eval()
    calls = []
    for i, e in enumerate(pol.ema.experts):
        e.register_forward_hook(lambda *_, i=i: calls.append(i))
    assert _real_timing(pol.denoiser, (8, 2), 6, 0.0, "cpu")(2) > 0
    assert sorted(calls) == [0, 1]
