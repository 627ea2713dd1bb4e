"""``MatmulConv1d`` and ``swap_convs``: the product path and the library path both give the
convolution's output, only eligible wide layers are swapped, and a trace keeps the run-time choice."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from parapolicy.policies.factory import make_policy
from parapolicy.policies.matmul_conv import MatmulConv1d, eligible, swap_convs
from parapolicy.policies.traced import trace_network
from policy_helpers import tiny_config

torch.set_num_threads(1)


@pytest.mark.parametrize("kernel,bias", [(5, True), (3, False), (1, True)])
@pytest.mark.parametrize("batch", [1, 4, 8, 9, 20])
def test_both_paths_equal_the_convolution(kernel: int, bias: bool, batch: int) -> None:
    torch.manual_seed(kernel + batch)
    conv = nn.Conv1d(12, 7, kernel, padding=kernel // 2, bias=bias)
    fast = MatmulConv1d(conv, max_batch=8)
    x = torch.randn(batch, 12, 6)  # (B, Cin, L)
    with torch.no_grad():
        want = conv(x)
        got = fast(x)
        scripted = torch.jit.script(fast)(x)
    assert got.shape == want.shape == (batch, 7, 6)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(scripted, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("conv", [nn.Conv1d(4, 4, 3, stride=2, padding=1), nn.Conv1d(4, 4, 3, padding=1, groups=2),
                                  nn.Conv1d(4, 4, 3, padding=2, dilation=2), nn.Conv1d(4, 4, 3, padding=0),
                                  nn.Conv1d(4, 4, 3, padding=1, padding_mode="circular"),
                                  nn.Conv1d(4, 4, 3, padding="same"), nn.Linear(4, 4)],
                         ids=["stride", "groups", "dilation", "valid", "circular", "same-string", "linear"])
def test_layers_it_cannot_reproduce_are_refused(conv: nn.Module) -> None:
    assert not eligible(conv)
    with pytest.raises(ValueError, match="MatmulConv1d takes a stride-1"):
        MatmulConv1d(conv)


def test_swap_converts_only_wide_layers_and_leaves_the_original() -> None:
    net = nn.Sequential(nn.Conv1d(8, 64, 3, padding=1), nn.Mish(), nn.Conv1d(64, 64, 5, padding=2),
                        nn.Conv1d(64, 8, 3, stride=2, padding=1))
    swapped, n = swap_convs(net, min_in_channels=64)
    assert n == 1  # the 8-channel input layer is narrow, the last one strided
    assert isinstance(net[2], nn.Conv1d)  # the original is untouched
    assert isinstance(swapped[0], nn.Conv1d) and isinstance(swapped[3], nn.Conv1d)
    assert isinstance(swapped[2], torch.jit.ScriptModule)
    x = torch.randn(3, 8, 10)
    with torch.no_grad():
        torch.testing.assert_close(swapped(x), net(x), atol=1e-5, rtol=1e-5)


def test_a_traced_wide_unet_keeps_both_paths_and_matches_the_eager_one() -> None:
    torch.manual_seed(0)
    policy = make_policy(tiny_config(objective="flow", down_dims=(64, 128))).eval()
    with torch.no_grad():
        for p in policy.ema.parameters():
            p.add_(0.1 * torch.randn_like(p))
    net = policy.inference_net
    n = swap_convs(net)[1]
    assert n > 0
    g = torch.Generator().manual_seed(1)
    example = (torch.randn(1, 8, 2, generator=g), torch.full((1,), 0.5), torch.randn(1, 6, generator=g))
    traced = trace_network(net, example)
    graph = str(traced.graph)
    assert graph.count("prim::If") == graph.count("aten::unfold") == n  # each swapped layer kept its batch branch
    for batch in (1, 5, 8, 9, 30):  # both sides of the batch-8 switch
        x, t = torch.randn(batch, 8, 2, generator=g), torch.rand(batch, generator=g)  # (B, H, Da), (B,)
        c = torch.randn(batch, 6, generator=g)  # (B, Dc)
        with torch.no_grad():
            want = net(x, t, c)
            got = traced(x, t, c)
        assert np.abs(want.numpy()).max() > 0.1
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    plain = str(trace_network(net, example, matmul_convs=False).graph)
    assert "aten::unfold" not in plain and "prim::If" not in plain
