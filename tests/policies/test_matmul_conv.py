"""``MatmulConv1d`` and ``swap_convs``: the product path and the library path both give the
convolution's output (any stride and zero padding), only the layers a band chooser names are
swapped, and a trace keeps the run-time choice."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from parapolicy.policies.factory import make_policy
from parapolicy.policies.matmul_conv import MatmulConv1d, MatmulConvTranspose1d, eligible, eligible_transpose, swap_convs
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


@pytest.mark.parametrize("kernel,stride,pad", [(3, 2, 1), (4, 2, 1), (5, 3, 0), (3, 1, 0), (1, 2, 0), (5, 1, 4)])
@pytest.mark.parametrize("batch", [1, 2, 3, 6])
def test_strided_and_unpadded_layers_match_on_both_sides_of_the_band(kernel: int, stride: int, pad: int,
                                                                     batch: int) -> None:
    torch.manual_seed(kernel * 10 + stride + batch)
    conv = nn.Conv1d(5, 6, kernel, stride=stride, padding=pad)
    fast = torch.jit.script(MatmulConv1d(conv, min_batch=2, max_batch=3))  # batches 1 and 6: the library
    x = torch.randn(batch, 5, 11)  # (B, Cin, L)
    with torch.no_grad():
        want, got = conv(x), fast(x)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kernel,stride,pad,bias", [(4, 2, 1, True), (3, 2, 0, False), (5, 3, 2, True),
                                                   (3, 1, 1, True), (2, 2, 0, True)])
@pytest.mark.parametrize("batch", [1, 2, 5])
def test_transposed_layers_match_on_both_sides_of_the_band(kernel: int, stride: int, pad: int, bias: bool,
                                                           batch: int) -> None:
    torch.manual_seed(kernel * 10 + stride + batch)
    conv = nn.ConvTranspose1d(5, 6, kernel, stride=stride, padding=pad, bias=bias)
    fast = torch.jit.script(MatmulConvTranspose1d(conv, min_batch=2, max_batch=4))  # batches 1 and 5: the library
    x = torch.randn(batch, 5, 7)  # (B, Cin, L)
    with torch.no_grad():
        want, got = conv(x), fast(x)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("conv", [nn.ConvTranspose1d(4, 4, 4, stride=2, padding=1, output_padding=1),
                                  nn.ConvTranspose1d(4, 4, 3, groups=2), nn.ConvTranspose1d(4, 4, 3, dilation=2),
                                  nn.Conv1d(4, 4, 3)], ids=["output-padding", "groups", "dilation", "plain-conv"])
def test_transposed_layers_it_cannot_reproduce_are_refused(conv: nn.Module) -> None:
    assert not eligible_transpose(conv)
    with pytest.raises(ValueError, match="MatmulConvTranspose1d takes"):
        MatmulConvTranspose1d(conv)


@pytest.mark.parametrize("conv", [nn.Conv1d(4, 4, 3, padding=1, groups=2), nn.Conv1d(4, 4, 3, padding=2, dilation=2),
                                  nn.Conv1d(4, 4, 3, padding=1, padding_mode="circular"),
                                  nn.Conv1d(4, 4, 3, padding="same"), nn.Linear(4, 4)],
                         ids=["groups", "dilation", "circular", "same-string", "linear"])
def test_layers_it_cannot_reproduce_are_refused(conv: nn.Module) -> None:
    assert not eligible(conv)
    with pytest.raises(ValueError, match="MatmulConv1d takes an undilated, ungrouped, zero-padded Conv1d"):
        MatmulConv1d(conv)


def test_an_empty_or_inverted_band_is_refused() -> None:
    with pytest.raises(ValueError, match="1 <= min_batch <= max_batch"):
        MatmulConv1d(nn.Conv1d(4, 4, 3, padding=1), min_batch=4, max_batch=2)


def test_a_band_chooser_picks_the_layers_and_their_bands() -> None:
    net = nn.Sequential(nn.Conv1d(8, 16, 3, padding=1), nn.Mish(), nn.Conv1d(16, 16, 3, stride=2, padding=1),
                        nn.Conv1d(16, 8, 1), nn.ConvTranspose1d(8, 8, 4, stride=2, padding=1))
    asked = []

    def band(name: str, conv: nn.Conv1d) -> tuple[int, int] | None:
        asked.append(name)
        return {"0": (2, 4), "2": (1, 1), "4": (1, 8)}.get(name)

    swapped, n = swap_convs(net, band=band)
    assert n == 3 and asked == ["0", "2", "3", "4"]  # every eligible layer is asked once, in order
    assert (swapped[0].min_batch, swapped[0].max_batch, swapped[2].stride) == (2, 4, 2)
    assert isinstance(swapped[3], nn.Conv1d) and swapped[4].original_name == "MatmulConvTranspose1d"
    for batch in (1, 3, 7):
        x = torch.randn(batch, 8, 10)
        with torch.no_grad():
            torch.testing.assert_close(swapped(x), net(x), atol=1e-5, rtol=1e-5)


def test_swap_converts_only_wide_layers_and_leaves_the_original() -> None:
    net = nn.Sequential(nn.Conv1d(8, 64, 3, padding=1), nn.Mish(), nn.Conv1d(64, 64, 5, padding=2),
                        nn.Conv1d(64, 8, 3, stride=2, padding=1))
    swapped, n = swap_convs(net, min_in_channels=64)
    assert n == 1  # the 8-channel input layer is narrow, the last one strided: neither is in stop 39's rule
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
    traced = trace_network(net, example, tune_convs=False)  # stop 39's fixed rule
    graph = str(traced.graph)
    assert graph.count("aten::unfold") == n  # each swapped layer kept its product path …
    assert graph.count("prim::If") == 2 * n  # … behind its run-time band test (``or``: two branches)
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


def test_a_trace_with_this_machines_bands_matches_the_eager_network(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PARAPOLICY_CACHE", str(tmp_path))
    torch.manual_seed(2)
    net = make_policy(tiny_config(objective="flow", down_dims=(16, 32))).eval().inference_net
    g = torch.Generator().manual_seed(3)
    example = (torch.randn(1, 8, 2, generator=g), torch.full((1,), 0.5), torch.randn(1, 6, generator=g))
    traced = trace_network(net, example)
    assert list((tmp_path / "conv_bands").glob("*.json"))  # the bands were timed and kept
    for batch in (1, 2, 5, 16, 33):
        x, t, c = torch.randn(batch, 8, 2, generator=g), torch.rand(batch, generator=g), torch.randn(batch, 6, generator=g)
        with torch.no_grad():
            torch.testing.assert_close(traced(x, t, c), net(x, t, c), atol=1e-5, rtol=1e-5)
