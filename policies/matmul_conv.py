"""A 1-D convolution computed as one matrix product, for small-batch inference on a CPU.

At batch 1 PyTorch sends a float ``Conv1d`` on the CPU down its generic im2col path, whose fixed
cost grows with the channel count; from batch 2 on it calls oneDNN, whose fixed cost (about 35 µs a
call on this project's 2-core CPU) dwarfs a narrow layer's arithmetic. On that CPU (one thread) a
128 → 128 channel, kernel-5 convolution over 4 positions took 68 µs at batch 1; the same arithmetic
as one padded ``unfold`` and one ``addmm`` took 21 µs. With its ≥ 64-channel convolutions swapped,
the Push-T U-Net's traced batch-1 call fell from 1.06 to 0.61 ms (stop 39,
``videos/bench/conv_speed/conv_speed_stop39.md``). At larger batches the library's convolution wins
again, at a size that differs per layer, so the module keeps both and runs the product only for batch
sizes inside its band ``[min_batch, max_batch]``. It is a scripted module, so a trace of the network
around it keeps that run-time choice instead of freezing the one taken for the example.

``MatmulConvTranspose1d`` does the same for a ``ConvTranspose1d`` (the U-Net's upsampling layers):
one product of every input position with the whole kernel, then ``F.fold`` to sum the overlaps.

``swap_convs`` returns a copy of a network with the layers that a band chooser names replaced:
stop 39's fixed rule (``wide_band``) or this machine's timing (``conv_tuning.tuned_bands``).
Outputs agree with the original to float rounding (the trace check in ``traced.py`` holds it to 1e-5).
"""
from __future__ import annotations

import copy
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

MIN_IN_CHANNELS = 64  # below this the library's batch-1 convolution is as fast (32 channels: 6.7 vs 11.6 µs)
MAX_MATMUL_BATCH = 8  # above this the library's convolution is faster (batch 32: 0.5–0.9× for the product)

Band = tuple[int, int]  # (smallest, largest) batch size computed as a product


def _freeze(module: nn.Module, conv: nn.Module, min_batch: int, max_batch: int) -> None:
    """Copy what both product modules keep of ``conv`` onto ``module``: kernel size, padding, stride,
    output channels, the batch band, and the weights and bias as buffers (a zero bias when it has none)."""
    if not 1 <= int(min_batch) <= int(max_batch):
        raise ValueError(f"the product's batch band must satisfy 1 <= min_batch <= max_batch, got "
                         f"[{min_batch}, {max_batch}]")
    module.k, module.pad, module.c_out = int(conv.kernel_size[0]), int(conv.padding[0]), int(conv.out_channels)
    module.stride = int(conv.stride[0])
    module.min_batch, module.max_batch = int(min_batch), int(max_batch)
    w = conv.weight.detach()
    bias = conv.bias.detach() if conv.bias is not None else torch.zeros(module.c_out, dtype=w.dtype, device=w.device)
    module.register_buffer("weight", w.clone())  # the layer's own layout, for the library path too
    module.register_buffer("bias", bias.clone())  # (Cout,)


class MatmulConv1d(nn.Module):
    """A frozen ``Conv1d`` (any stride and zero padding, dilation 1, one group) evaluated as
    ``unfold`` + ``addmm`` for batch sizes in ``[min_batch, max_batch]`` and by ``F.conv1d`` outside
    that band. Inference only: its weights are buffers, not parameters."""

    def __init__(self, conv: nn.Conv1d, max_batch: int = MAX_MATMUL_BATCH, min_batch: int = 1) -> None:
        super().__init__()
        if not eligible(conv):
            raise ValueError(f"MatmulConv1d takes an undilated, ungrouped, zero-padded Conv1d, got {conv}")
        _freeze(self, conv, min_batch, max_batch)  # weight (Cout, Cin, K), bias (Cout,)

    def forward(self, x: Tensor) -> Tensor:
        """``x (B, Cin, L)`` → ``(B, Cout, Lo)``, ``Lo = (L + 2·pad − K) // stride + 1``."""
        b, c = x.shape[0], x.shape[1]
        if b < self.min_batch or b > self.max_batch:
            return F.conv1d(x, self.weight, self.bias, stride=self.stride, padding=self.pad)
        xp = F.pad(x, [self.pad, self.pad])  # (B, Cin, L + 2·pad)
        win = xp.unfold(2, self.k, self.stride)  # (B, Cin, Lo, K): windows, a view
        n = win.shape[2]
        cols = win.permute(0, 2, 1, 3).reshape(b * n, c * self.k)  # (B·Lo, Cin·K)
        w = self.weight.reshape(self.c_out, c * self.k).t()  # (Cin·K, Cout): a view, no copy
        y = torch.addmm(self.bias, cols, w)  # (B·Lo, Cout)
        return y.reshape(b, n, self.c_out).transpose(1, 2)


class MatmulConvTranspose1d(nn.Module):
    """A frozen ``ConvTranspose1d`` (any stride and padding, no output padding, dilation 1, one group)
    evaluated for batch sizes in ``[min_batch, max_batch]`` as one product, every input position times
    the whole kernel, whose overlapping outputs ``F.fold`` then sums into place; by
    ``F.conv_transpose1d`` outside that band. Inference only: its weights are buffers."""

    def __init__(self, conv: nn.ConvTranspose1d, max_batch: int = MAX_MATMUL_BATCH, min_batch: int = 1) -> None:
        super().__init__()
        if not eligible_transpose(conv):
            raise ValueError(f"MatmulConvTranspose1d takes an undilated, ungrouped ConvTranspose1d without output "
                             f"padding, got {conv}")
        _freeze(self, conv, min_batch, max_batch)  # weight (Cin, Cout, K), bias (Cout,)

    def forward(self, x: Tensor) -> Tensor:
        """``x (B, Cin, L)`` → ``(B, Cout, Lo)``, ``Lo = (L − 1)·stride − 2·pad + K``."""
        b, c, n = x.shape[0], x.shape[1], x.shape[2]
        if b < self.min_batch or b > self.max_batch:
            return F.conv_transpose1d(x, self.weight, self.bias, stride=self.stride, padding=self.pad)
        cols = torch.matmul(x.transpose(1, 2), self.weight.reshape(c, self.c_out * self.k))  # (B, L, Cout·K)
        full = (n - 1) * self.stride + self.k
        y = F.fold(cols.transpose(1, 2), output_size=(1, full), kernel_size=(1, self.k),
                   stride=(1, self.stride))  # (B, Cout, 1, full): the kernel's copies summed where they overlap
        return y[:, :, 0, self.pad:full - self.pad] + self.bias[None, :, None]


def eligible(conv: nn.Module) -> bool:
    """Whether ``conv`` is a ``Conv1d`` that ``MatmulConv1d`` reproduces exactly."""
    return (isinstance(conv, nn.Conv1d) and conv.groups == 1 and tuple(conv.dilation) == (1,)
            and conv.padding_mode == "zeros" and isinstance(conv.padding, tuple))


def eligible_transpose(conv: nn.Module) -> bool:
    """Whether ``conv`` is a ``ConvTranspose1d`` that ``MatmulConvTranspose1d`` reproduces exactly."""
    return (isinstance(conv, nn.ConvTranspose1d) and conv.groups == 1 and tuple(conv.dilation) == (1,)
            and tuple(conv.output_padding) == (0,) and conv.padding_mode == "zeros"
            and isinstance(conv.padding, tuple))


def as_product(conv: nn.Module, band: Band) -> nn.Module:
    """The product module for an eligible ``Conv1d`` or ``ConvTranspose1d``, used over ``band``."""
    cls = MatmulConvTranspose1d if isinstance(conv, nn.ConvTranspose1d) else MatmulConv1d
    return cls(conv, max_batch=band[1], min_batch=band[0])


def wide_band(min_in_channels: int = MIN_IN_CHANNELS, max_batch: int = MAX_MATMUL_BATCH
              ) -> Callable[[str, nn.Module], Band | None]:
    """The fixed rule of stop 39: stride-1, same-length convolutions with at least ``min_in_channels``
    inputs run as products from batch 1 to ``max_batch``; every other layer stays as it is."""

    def band(name: str, conv: nn.Module) -> Band | None:
        if not isinstance(conv, nn.Conv1d):
            return None
        same = tuple(conv.stride) == (1,) and 2 * int(conv.padding[0]) == int(conv.kernel_size[0]) - 1
        return (1, int(max_batch)) if same and conv.in_channels >= min_in_channels else None

    return band


def swap_convs(net: nn.Module, min_in_channels: int = MIN_IN_CHANNELS, max_batch: int = MAX_MATMUL_BATCH, *,
               band: Callable[[str, nn.Module], Band | None] | None = None) -> tuple[nn.Module, int]:
    """A copy of ``net`` whose eligible ``Conv1d`` and ``ConvTranspose1d`` layers are scripted
    ``MatmulConv1d`` / ``MatmulConvTranspose1d``; returns ``(copy, number swapped)``. ``net`` is
    unchanged.

    ``band(qualified name, conv)`` gives a layer's product band, or ``None`` to leave it; by default
    ``wide_band(min_in_channels, max_batch)``. ``conv_tuning.tuned_bands`` times each layer instead.
    """
    choose = band if band is not None else wide_band(min_in_channels, max_batch)
    out = copy.deepcopy(net)
    swapped = 0
    for parent_name, parent in list(out.named_modules()):
        for name, child in list(parent.named_children()):
            if not (eligible(child) or eligible_transpose(child)):
                continue
            chosen = choose(f"{parent_name}.{name}" if parent_name else name, child)
            if chosen is not None:
                setattr(parent, name, torch.jit.script(as_product(child, chosen)))
                swapped += 1
    return out, swapped
