"""A 1-D convolution computed as one matrix product, for small-batch inference on a CPU.

At batch 1 PyTorch sends a float ``Conv1d`` on the CPU down its generic im2col path, whose fixed
cost grows with the channel count. On this project's 2-core CPU (one thread) a 128 → 128 channel,
kernel-5 convolution over 4 positions took 68 µs; the same arithmetic as one padded ``unfold`` and
one ``addmm`` took 21 µs. With its ≥ 64-channel convolutions swapped, the Push-T U-Net's traced
batch-1 call fell from 1.06 to 0.61 ms (stop 39, ``videos/bench/conv_speed/conv_speed.md``). From
batch 32 on the library's own convolution is faster again (about half the cost of the product at
batch 128), so the module keeps both and picks by batch size at run time. It is a scripted module,
so a trace of the network around it keeps that choice instead of freezing the one taken for the
example.

``swap_convs`` returns a copy of a network with every eligible ``Conv1d`` replaced; outputs agree
with the original to float rounding (the trace check in ``traced.py`` holds it to 1e-5).
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

MIN_IN_CHANNELS = 64  # below this the library's batch-1 convolution is as fast (32 channels: 6.7 vs 11.6 µs)
MAX_MATMUL_BATCH = 8  # above this the library's convolution is faster (batch 32: 0.5–0.9× for the product)


class MatmulConv1d(nn.Module):
    """A frozen ``Conv1d`` (stride 1, dilation 1, one group, zero padding) evaluated as ``unfold`` +
    ``addmm`` for batches up to ``max_batch`` and by ``F.conv1d`` above that. Inference only: its
    weights are buffers, not parameters."""

    def __init__(self, conv: nn.Conv1d, max_batch: int = MAX_MATMUL_BATCH) -> None:
        super().__init__()
        if not eligible(conv):
            raise ValueError(f"MatmulConv1d takes a stride-1, undilated, ungrouped, zero-padded Conv1d, got {conv}")
        self.k, self.pad, self.c_out = int(conv.kernel_size[0]), int(conv.padding[0]), int(conv.out_channels)
        self.max_batch = int(max_batch)
        w = conv.weight.detach()  # (Cout, Cin, K)
        bias = conv.bias.detach() if conv.bias is not None else torch.zeros(self.c_out, dtype=w.dtype, device=w.device)
        self.register_buffer("weight", w.clone())  # (Cout, Cin, K) for the library path
        self.register_buffer("bias", bias.clone())  # (Cout,)

    def forward(self, x: Tensor) -> Tensor:
        """``x (B, Cin, L)`` → ``(B, Cout, L)``."""
        b, c, n = x.shape[0], x.shape[1], x.shape[2]
        if b > self.max_batch:
            return F.conv1d(x, self.weight, self.bias, padding=self.pad)
        xp = F.pad(x, [self.pad, self.pad])  # (B, Cin, L + 2·pad)
        cols = xp.unfold(2, self.k, 1).permute(0, 2, 1, 3).reshape(b * n, c * self.k)  # (B·L, Cin·K)
        w = self.weight.reshape(self.c_out, c * self.k).t()  # (Cin·K, Cout): a view, no copy
        y = torch.addmm(self.bias, cols, w)  # (B·L, Cout)
        return y.reshape(b, n, self.c_out).transpose(1, 2)


def eligible(conv: nn.Module) -> bool:
    """Whether ``conv`` is a ``Conv1d`` that ``MatmulConv1d`` reproduces exactly (same-length output)."""
    return (isinstance(conv, nn.Conv1d) and conv.groups == 1 and tuple(conv.stride) == (1,)
            and tuple(conv.dilation) == (1,) and conv.padding_mode == "zeros" and isinstance(conv.padding, tuple)
            and 2 * int(conv.padding[0]) == int(conv.kernel_size[0]) - 1)


def swap_convs(net: nn.Module, min_in_channels: int = MIN_IN_CHANNELS,
               max_batch: int = MAX_MATMUL_BATCH) -> tuple[nn.Module, int]:
    """A copy of ``net`` with every eligible ``Conv1d`` of at least ``min_in_channels`` input channels
    replaced by a scripted ``MatmulConv1d``; returns ``(copy, number swapped)``. ``net`` is unchanged."""
    out = copy.deepcopy(net)
    swapped = 0
    for parent in list(out.modules()):
        for name, child in list(parent.named_children()):
            if eligible(child) and child.in_channels >= min_in_channels:
                setattr(parent, name, torch.jit.script(MatmulConv1d(child, max_batch)))
                swapped += 1
    return out, swapped
