"""Per-machine choice of which convolutions a traced CPU network computes as matrix products.

``MatmulConv1d`` computes a ``Conv1d`` as ``unfold`` + ``addmm`` (``MatmulConvTranspose1d`` a
transposed one as a product and a ``fold``). Whether that beats the library's
own convolution depends on the layer, the batch size and the CPU: on this project's 2-core AMD EPYC
(one thread) the library runs a batch-1 convolution through an im2col path that is fast for narrow
layers and slow for wide ones (32 → 32 channels, kernel 5, 16 positions: 7 µs against the product's
14 µs; 128 → 128 over 4 positions: 70 against 24 µs), and from batch 2 on through oneDNN, whose fixed
cost of about 35 µs per call makes every narrow layer slow (the 32 → 32 layer: 39 µs at batch 2
against 16 µs as a product). Past some batch size, which differs per layer, the library wins again.
A fixed rule (stop 39: layers of at least 64 input channels, batch 1–8) leaves most of that on the
table, so each distinct layer (channels, kernel, stride, padding, input length) is timed once per
machine, both ways, at batch sizes ``BATCHES``; the product runs over the band of batch sizes where it
was at least ``MARGIN`` faster (a tie keeps the library's convolution).

Bands are cached as JSON under ``default_cache_dir()/conv_bands``, one file per CPU model, torch
thread count and torch version. Later processes on the same machine reuse them, so a traced network
is the same program, with the same rounding, in every run there. They are not timed again: a file
timed on a busy CPU stays until ``parapolicy-cache action=clear what=bands`` removes it. Timing is
injectable for tests.
"""
from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import torch
from torch import Tensor, nn

from .machine import default_cache_dir, device_hash, device_name, save_cache
from .matmul_conv import Band, as_product, eligible, eligible_transpose

BATCHES = (1, 2, 4, 8, 16, 32)
MARGIN = 0.1  # the product must be this much faster than the library to take a batch size
ROUNDS, CALLS, WARMUP = 5, 8, 5
CACHE_SUBDIR = "conv_bands"  # the band files' folder under the cache root

Timing = Callable[[nn.Module, int, int], tuple[float, float]]  # (conv, length, batch) -> (library s, product s)

_memory: dict[str, dict[str, Band | None]] = {}  # cache file path -> {signature: band}


def signature(conv: nn.Module, length: int) -> str:
    """What a convolution's speed depends on: kind (``t`` for transposed), channels, kernel, stride,
    padding, bias, input length."""
    kind = "t" if isinstance(conv, nn.ConvTranspose1d) else ""
    return (f"{kind}{conv.in_channels}-{conv.out_channels}-k{conv.kernel_size[0]}-s{conv.stride[0]}-p{conv.padding[0]}"
            f"-{'b' if conv.bias is not None else 'nb'}-L{int(length)}")


def decide_band(times: Mapping[int, tuple[float, float]], margin: float = MARGIN) -> Band | None:
    """The product's batch band from ``{batch: (library s, product s)}``: from the smallest batch size
    where the product is at least ``margin`` faster up to the last one before it stops being so.
    ``None`` when it never is."""
    wins = [b for b in sorted(times) if times[b][1] < (1.0 - margin) * times[b][0]]
    if not wins:
        return None
    lo = hi = wins[0]
    for b in sorted(times):
        if b <= lo:
            continue
        if b not in wins:
            break
        hi = b
    return lo, hi


def real_timing(conv: nn.Module, length: int, batch: int) -> tuple[float, float]:
    """Median seconds per call of the library's convolution and of the product, for one batch size
    (interleaved rounds, so a drift of the machine hits both)."""
    product = torch.jit.script(as_product(conv, (1, 1 << 30)))
    x = torch.randn(batch, conv.in_channels, int(length))  # (B, Cin, L)
    paths = {"library": lambda: conv(x), "product": lambda: product(x)}
    samples: dict[str, list[float]] = {k: [] for k in paths}
    with torch.no_grad():
        for f in paths.values():
            for _ in range(WARMUP):
                f()
        for r in range(ROUNDS):
            for k in (list(paths) if r % 2 == 0 else list(paths)[::-1]):
                for _ in range(CALLS):
                    t0 = time.perf_counter()
                    paths[k]()
                    samples[k].append(time.perf_counter() - t0)
    return statistics.median(samples["library"]), statistics.median(samples["product"])


def input_lengths(net: nn.Module, example: Sequence[Tensor]) -> dict[str, int]:
    """Input length of every eligible ``Conv1d`` and ``ConvTranspose1d`` of ``net`` that
    ``net(*example)`` reaches, by qualified module name."""
    seen: dict[str, int] = {}

    def record(name: str) -> Callable[..., None]:
        def hook(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
            seen.setdefault(name, int(inputs[0].shape[-1]))  # returns None: the output is kept
        return hook

    hooks = [mod.register_forward_hook(record(name)) for name, mod in net.named_modules()
             if eligible(mod) or eligible_transpose(mod)]
    try:
        with torch.no_grad():
            net(*example)
    finally:
        for h in hooks:
            h.remove()
    return seen


def cache_path(cache_dir: str | Path | None = None) -> Path:
    """This machine's band file: CPU model, torch threads, torch version."""
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    name = f"cpu{device_hash('cpu')}-t{torch.get_num_threads()}-torch{torch.__version__.replace('+', '_')}.json"
    return root / CACHE_SUBDIR / name


def _read(path: Path) -> dict[str, Band | None]:
    """The bands stored in ``path``; empty when there is no file yet or it cannot be read (then the
    layers are timed again and the file rewritten)."""
    try:
        raw = json.loads(path.read_text())["bands"]
        return {k: (int(v[0]), int(v[1])) if v is not None else None for k, v in raw.items()}
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return {}


def tuned_bands(net: nn.Module, example: Sequence[Tensor], *, cache_dir: str | Path | None = None,
                timing: Timing | None = None, batches: Sequence[int] = BATCHES,
                margin: float = MARGIN) -> Callable[[str, nn.Module], Band | None]:
    """A ``band`` chooser for ``swap_convs``: each eligible layer that ``net(*example)`` reaches gets
    the band measured for its signature on this machine (from the cache, or timed now and added to
    it). Layers the example does not reach are left alone. With ``timing`` (tests) nothing is read
    from or written to disk unless ``cache_dir`` is given."""
    lengths = input_lengths(net, example)
    use_disk = timing is None or cache_dir is not None
    path = cache_path(cache_dir)
    bands = _memory.setdefault(str(path), _read(path)) if use_disk else {}
    time_fn = timing or real_timing

    def band(name: str, conv: nn.Module) -> Band | None:
        if name not in lengths:
            return None
        sig = signature(conv, lengths[name])
        if sig not in bands:
            bands[sig] = decide_band({b: time_fn(conv, lengths[name], b) for b in batches}, margin)
            if use_disk:
                bands.update({**_read(path), **bands})  # keep what another process added meanwhile
                meta = {"device": device_name("cpu"), "threads": torch.get_num_threads(), "torch": torch.__version__,
                        "batches": list(batches), "margin": margin, "date": time.strftime("%Y-%m-%dT%H:%M:%S")}
                save_cache(path, {"bands": {k: list(v) if v is not None else None for k, v in bands.items()},
                                  "meta": meta})
        return bands[sig]

    return band
