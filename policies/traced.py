"""A traced, frozen copy of a policy network for fast small-batch inference on a CPU.

At batch 1 a 1 M-parameter denoiser spends more time in Python and the operator dispatcher than in
arithmetic: on this project's 2-core CPU one eager call of the Push-T U-Net took 3.8–3.9 ms and the
same network traced with TorchScript and frozen (weights folded in as constants) 1.7–1.8 ms in one
probe, 1.96 against 1.09 ms in another, with identical outputs (stop 29). ``torch.compile`` took 50 s
to compile one input shape and then ran at 1.6 ms in the first probe, against the trace's 1.05 ms
measured just before: too slow to start for a control loop and no faster.

TorchScript is deprecated in recent torch releases but still works; ``trace_network`` silences its
deprecation notices, checks the traced copy against the eager network on four batch sizes and refuses
(``TraceMismatchError``) when they differ, so a network the tracer cannot follow is never used.
The copy is a snapshot of the weights: a policy drops it when it is put back into training mode.
On a CPU the copy also computes its 1-D convolutions as one matrix product each over the batch sizes
where this machine's timing found that faster (``matmul_conv.py``, ``conv_tuning.py``). Wide layers
at batch 1 alone took the Push-T U-Net's traced call from 1.06 to 0.61 ms (stop 39); the tuned
choice and its effect at every batch size are in ``videos/bench/conv_speed/conv_speed.md``.
"""
from __future__ import annotations

import copy
import warnings

import torch
from torch import Tensor, nn

from .conv_tuning import tuned_bands
from .matmul_conv import swap_convs


class TraceMismatchError(ValueError):
    """The traced network disagrees with the eager one (the tracer could not follow it)."""


def trace_network(net: nn.Module, example: tuple[Tensor, Tensor, Tensor], *, atol: float = 1e-5,
                  matmul_convs: bool = True, tune_convs: bool = True) -> nn.Module:
    """A frozen TorchScript trace of ``net`` for inference, checked against ``net``.

    ``example``: ``(x (B, H, Da), t (B,), cond (B, Dc))`` network inputs. The trace is taken on a copy
    in eval mode (``net`` is left as it was) and compared with the eager network on ``example`` and on
    it repeated 3, 12 and 40 times, so a batch size baked into the trace is caught (and both paths of
    a ``MatmulConv1d`` are checked). Raises ``TraceMismatchError`` when any output differs by more than
    ``atol``. ``matmul_convs``: on a CPU, trace a copy whose ``Conv1d`` layers run as
    ``matmul_conv.MatmulConv1d`` products where that is faster: over the batch sizes this machine's
    timing chose (``tune_convs``, ``conv_tuning.py``) or by stop 39's fixed rule (wide layers, batch
    1–8).
    """
    frozen_src = copy.deepcopy(net).eval().requires_grad_(False)
    to_trace = frozen_src
    if matmul_convs and example[0].device.type == "cpu":
        band = tuned_bands(frozen_src, example) if tune_convs else None
        to_trace = swap_convs(frozen_src, band=band)[0]
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TorchScript's deprecation notices and tracer warnings
        traced = torch.jit.freeze(torch.jit.trace(to_trace, example, check_trace=False))
        for reps in (1, 3, 12, 40):  # other batch sizes: (reps·B, …)
            inputs = tuple(torch.cat([a] * reps) for a in example)
            want, got = frozen_src(*inputs), traced(*inputs)
            err = float((want - got).abs().max()) if want.shape == got.shape else float("inf")
            if not err <= atol:
                raise TraceMismatchError(f"the traced {type(net).__name__} differs from the eager one by {err:.3g} "
                                         f"at batch {inputs[0].shape[0]}; run it untraced")
    return traced
