"""A measured cost model of the current hardware: denoiser latency versus batch width.

Parallel sampling trades depth for width: a Picard pass evaluates P·B rows in one call. Whether that
pays off depends on how the network's latency grows with the batch — nearly flat on a GPU, close to
linear on a 2-core CPU. ``CostModel`` measures it (warm-up calls, then the median of repeats for each
batch size), interpolates between the measured sizes, and predicts a sampler configuration's latency
as the cost of a chain of ``depth`` calls of ``rows per pass × B`` rows (``chain_cost``: one cold
call, up to ``CHAIN_CALLS`` warm ones, steady ones after those) plus ``depth × per-pass overhead``,
where the per-pass overhead (schedule arithmetic, cumulative sums, convergence checks) is measured by
running the sampler with a free denoiser.

The first call of a chain finds the network's weights out of the caches (a control loop stepped the
simulator since the last replan); the calls after it find them warm. On this project's 2-core CPU a
traced Push-T U-Net call took 0.95 ms after a cache flush and 0.64 ms in a run of calls (stop 39,
``videos/bench/PushTKeypoints-v0-kp400-s39/extra/probes/cold_warm.out``), so a 100-step chain
costs about 100 warm calls and a 1-step student one cold call. Each repeat therefore times a call
after the other batch sizes' calls (cold, ``latency_s``), then the mean of ``CHAIN_CALLS`` calls
more at the same size (warm, ``warm_latency_s``), then the mean of ``STEADY_CALLS`` more
(``steady_latency_s``). The caches warm over more than eight calls: in the bench's interleaved
pattern the Push-T U-Net's batch-1 calls 1–16 after a cold one (0.96 ms) took 0.80, 0.75, 0.72, 0.69,
… 0.66 ms for call 8 and 0.64 ms from call 10 on (stop 41, ``…-s41/extra/warm_decay.out``). Priced at
the mean of calls 1–8 (0.705 ms), flow-100 came out 6–26% over its measured mean in eight bench
processes; the steady calls price its last 91 calls at what they cost.

Measurements are cached as JSON keyed by model fingerprint + device + torch threads (cache folder
configurable, default ``~/.cache/parapolicy``), so a planner does not re-measure at start-up.

Timing is injectable (``timing_fn(batch) -> seconds``) so tests can feed synthetic timings.
"""
from __future__ import annotations

import hashlib
import json
import math
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import Tensor

from parapolicy.policies.machine import default_cache_dir, device_hash, device_name, save_cache, save_json_atomic

from .base import Budget, Denoiser, Sampler

DEFAULT_BATCH_SIZES = (1, 2, 4, 8, 16, 32)
CHAIN_CALLS = 8  # the calls after a repeat's cold one whose mean is its warm time (module docstring)
STEADY_CALLS = 8  # the calls after those, whose mean is its steady time (a long chain's later calls)
CACHE_SUBDIR = "cost_model"  # the cached models' folder under the cache root


def is_network(denoiser: Any) -> bool:
    """Whether ``denoiser`` is a torch network or a method of one (timed by a cost model); test
    doubles and wrappers (a ``LevelRoutedDenoiser`` over two networks) are not."""
    return isinstance(denoiser, torch.nn.Module) or isinstance(getattr(denoiser, "__self__", None), torch.nn.Module)


def model_fingerprint(denoiser: Any, x_shape: Sequence[int], cond_dim: int) -> str:
    """A short hash of what determines latency: the architecture (parameter names, shapes, dtypes),
    not the weight values, whether a policy runs a traced copy, plus the input shapes. Non-module
    denoisers hash their type name."""
    h = hashlib.sha1()
    owner = getattr(denoiser, "__self__", None)  # a bound method such as ``policy.denoiser``
    subject = owner if isinstance(owner, torch.nn.Module) else denoiser
    h.update(f"{type(subject).__module__}.{type(subject).__qualname__}".encode())
    if getattr(subject, "traced", False) is True:  # a policy running a traced copy is another program
        h.update(b"traced:tuned-conv1d")  # stop 40: traced CPU copies run convolutions as products where timed faster
    module = subject if isinstance(subject, torch.nn.Module) else getattr(subject, "model", None)
    if isinstance(module, torch.nn.Module):
        for name, t in list(module.named_parameters()) + list(module.named_buffers()):
            h.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
    h.update(f"x{tuple(int(v) for v in x_shape)}c{int(cond_dim)}".encode())
    return h.hexdigest()[:16]


def cache_key(fingerprint: str, device: torch.device | str = "cpu", threads: int | None = None) -> str:
    """Cache key: fingerprint + device + torch threads."""
    threads = torch.get_num_threads() if threads is None else threads
    return f"{fingerprint}-{torch.device(device).type}{device_hash(device)}-t{threads}"


class _FreeDenoiser:
    """A denoiser that costs (almost) nothing: returns zeros. Used to measure per-pass overhead."""

    def __call__(self, x_t: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        return torch.zeros_like(x_t)


@dataclass
class CostModel:
    """Measured latency of one denoiser call versus batch width, plus per-sampler pass overhead.

    ``latency_s``: batch size → median seconds of one call that follows other work (a chain's first
    call). ``warm_latency_s``: batch size → median seconds of a call that follows calls at the same
    size (a chain's calls 1 to ``CHAIN_CALLS``); empty: the same as ``latency_s``. ``steady_latency_s``:
    the same for the calls after those; empty: ``warm_latency_s``. ``overhead_s``: sampler name →
    seconds of non-network work per pass (``default_overhead_s`` for samplers not measured).
    """

    latency_s: dict[int, float]
    overhead_s: dict[str, float] = field(default_factory=dict)
    default_overhead_s: float = 0.0
    key: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    warm_latency_s: dict[int, float] = field(default_factory=dict)
    steady_latency_s: dict[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.latency_s:
            raise ValueError("CostModel needs at least one measured batch size")
        self.latency_s = _clean_latencies(self.latency_s)
        self.warm_latency_s = _clean_latencies(self.warm_latency_s) if self.warm_latency_s else {}
        self.steady_latency_s = _clean_latencies(self.steady_latency_s) if self.steady_latency_s else {}

    # -- measuring -------------------------------------------------------------------------------
    @classmethod
    def measure(cls, denoiser: Denoiser, *, x_shape: Sequence[int], cond_dim: int,
                batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES, warmup: int = 2, repeats: int = 5,
                t_value: float = 0.0, device: torch.device | str = "cpu",
                timing_fn: Callable[[int], float] | None = None, cache_dir: str | Path | None = None,
                use_cache: bool = True, fingerprint: str | None = None) -> "CostModel":
        """Measure (or load from the cache) the latency of ``denoiser`` for each batch size.

        ``x_shape (H, Da)``, ``cond_dim`` Dc. Each size gets ``warmup`` discarded calls and the
        median of ``repeats`` timed calls. ``timing_fn(batch) -> seconds`` replaces the real timing
        (tests); with it nothing is cached unless ``cache_dir`` is given. A cached model is used when
        it covers ``batch_sizes`` and, with real timing, its smallest batch still costs within
        ``STALE_FACTOR`` of a quick check now; otherwise the model is measured again and the cache
        rewritten.
        """
        if repeats < 1 or warmup < 0:
            raise ValueError(f"repeats must be >= 1 and warmup >= 0, got {repeats}, {warmup}")
        sizes = sorted({int(n) for n in batch_sizes})
        if not sizes or sizes[0] < 1:
            raise ValueError(f"batch_sizes must be integers >= 1, got {list(batch_sizes)}")
        fp = fingerprint or model_fingerprint(denoiser, x_shape, cond_dim)
        key = cache_key(fp, device)
        path = None
        if use_cache and (timing_fn is None or cache_dir is not None):
            path = Path(cache_dir) if cache_dir is not None else default_cache_dir()
            path = path / CACHE_SUBDIR / f"{key}.json"
            if path.exists():
                cached = cls.load(path)
                if set(sizes) <= set(cached.latency_s) and cached.steady_latency_s and (
                        timing_fn is not None or _cache_holds(cached, denoiser, x_shape, cond_dim, t_value, device)):
                    return cached
        if timing_fn is None:
            timing_fn = _real_timing(denoiser, x_shape, cond_dim, t_value, device)
        for _ in range(warmup):
            for n in sizes:
                timing_fn(n)
        cold, warm, steady = chain_rounds(timing_fn, sizes, repeats)
        model = cls(latency_s={n: statistics.median(v) for n, v in cold.items()},
                    warm_latency_s={n: statistics.median(v) for n, v in warm.items()},
                    steady_latency_s={n: statistics.median(v) for n, v in steady.items()}, key=key,
                    meta={"device": device_name(device), "threads": torch.get_num_threads(),
                          "torch": torch.__version__, "warmup": warmup, "repeats": repeats,
                          "date": time.strftime("%Y-%m-%dT%H:%M:%S")})
        if path is not None:
            save_cache(path, model.to_dict())  # unwritable: measured again next time, with one warning
        return model

    def measure_overhead(self, sampler: Sampler, *, x_shape: Sequence[int], cond_dim: int, batch: int = 1,
                         repeats: int = 3, device: torch.device | str = "cpu") -> float:
        """Measure ``sampler``'s non-network seconds per pass (median over repeats, on ``device``,
        where the schedule arithmetic runs) and store it."""
        free = _FreeDenoiser()
        x = torch.zeros((batch, *x_shape), device=device)  # (B, H, Da)
        cond = torch.zeros((batch, cond_dim), device=device)  # (B, Dc)
        per_pass = []
        for _ in range(repeats):
            res = sampler.sample(free, cond, x_init=x, budget=Budget())
            per_pass.append(res.wall_s / max(res.depth, 1))
        self.overhead_s[sampler.name] = statistics.median(per_pass)
        return self.overhead_s[sampler.name]

    # -- predicting ------------------------------------------------------------------------------
    def cost(self, batch: float) -> float:
        """Seconds of one denoiser call on ``batch`` rows (a chain's first call): piecewise-linear
        between measured sizes, the smallest size's cost below it, linear extrapolation (non-negative
        slope) above."""
        return _interpolate(self.latency_s, batch)

    def warm_cost(self, batch: float) -> float:
        """Seconds of a call after others at ``batch`` rows (a chain's later calls),
        interpolated like ``cost`` and never above it; ``cost`` when no warm calls were measured."""
        cold = self.cost(batch)
        return min(cold, _interpolate(self.warm_latency_s, batch)) if self.warm_latency_s else cold

    def steady_cost(self, batch: float) -> float:
        """Seconds of a call after ``CHAIN_CALLS`` or more at ``batch`` rows, interpolated like ``cost``
        and never above ``warm_cost``; ``warm_cost`` when no steady calls were measured."""
        warm = self.warm_cost(batch)
        return min(warm, _interpolate(self.steady_latency_s, batch)) if self.steady_latency_s else warm

    def chain_cost(self, width: float, depth: float) -> float:
        """Seconds of ``depth`` calls in a row on ``width`` rows: one cold call, up to ``CHAIN_CALLS``
        warm ones, steady ones after those. A fractional depth below 1 scales the cold call."""
        d = float(depth)
        warm = min(max(d - 1.0, 0.0), float(CHAIN_CALLS))
        steady = max(d - 1.0 - CHAIN_CALLS, 0.0)
        return min(d, 1.0) * self.cost(width) + warm * self.warm_cost(width) + steady * self.steady_cost(width)

    def overhead(self, name: str) -> float:
        """Per-pass overhead of the sampler called ``name``."""
        return self.overhead_s.get(name, self.default_overhead_s)

    def predict(self, sampler: Sampler, *, batch: int = 1, start_index: int = 0,
                depth: float | None = None) -> float:
        """Predicted seconds for one ``sampler.sample`` call on ``batch`` environments: a chain of
        ``depth`` passes on rows per pass × batch rows (``chain_cost``) and ``depth`` overheads; depth
        defaults to the sampler's ``expected_depth`` (worst case for Picard until it has run)."""
        d = sampler.expected_depth(start_index) if depth is None else float(depth)
        width = sampler.rows_per_pass(start_index) * batch
        return self.chain_cost(width, d) + d * self.overhead(sampler.name)

    def batching_speedup(self, width: int) -> float:
        """How much cheaper one call of ``width`` rows is than ``width`` calls of one row (1 = no gain)."""
        return width * self.cost(1) / self.cost(width)

    # -- persistence -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable form."""
        return {"key": self.key, "latency_s": {str(k): v for k, v in self.latency_s.items()},
                "warm_latency_s": {str(k): v for k, v in self.warm_latency_s.items()},
                "steady_latency_s": {str(k): v for k, v in self.steady_latency_s.items()},
                "overhead_s": self.overhead_s, "default_overhead_s": self.default_overhead_s,
                "meta": self.meta}

    def save(self, path: str | Path) -> None:
        """Write JSON atomically (temp file + rename)."""
        save_json_atomic(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> "CostModel":
        """Read a model written by ``save``."""
        d = json.loads(Path(path).read_text())
        return cls(latency_s={int(k): float(v) for k, v in d["latency_s"].items()},
                   warm_latency_s={int(k): float(v) for k, v in d.get("warm_latency_s", {}).items()},
                   steady_latency_s={int(k): float(v) for k, v in d.get("steady_latency_s", {}).items()},
                   overhead_s=dict(d.get("overhead_s", {})),
                   default_overhead_s=float(d.get("default_overhead_s", 0.0)),
                   key=d.get("key", ""), meta=dict(d.get("meta", {})))


def predict_routed(sampler: Sampler, handoff: float, student: CostModel, teacher: CostModel, *,
                   batch: int = 1, start_index: int = 0) -> float:
    """Predicted seconds for a sequential chain run by a ``LevelRoutedDenoiser``: its calls at levels
    noisier than ``handoff`` run the student's network (priced by ``student``), the others the
    teacher's (``teacher``). Each network's first call is cold, because the simulator or the other
    network ran just before it, and its later calls are warm (``chain_cost``); every call adds the
    sampler's overhead (the teacher's model holds the measured overheads). Pricing the whole chain on
    the teacher's network, cold then warm, put a draft on a 12 k-parameter MLP finished by one
    teacher call at 1.9 ms against 1.08 measured (stop 41)."""
    levels = sampler.timesteps[start_index:-1]  # (d,) the level each call is made at
    n_student = int((levels.float() > float(handoff)).sum())
    n_teacher = int(levels.numel()) - n_student
    width = sampler.rows_per_pass(start_index) * batch
    return (student.chain_cost(width, n_student) + teacher.chain_cost(width, n_teacher)
            + (n_student + n_teacher) * teacher.overhead(sampler.name))


def chain_timings(timing_fn: Callable[[int], float], batch: int) -> tuple[float, float, float]:
    """Seconds of a first call at ``batch`` rows (``timing_fn(batch)``), the mean seconds of the
    ``CHAIN_CALLS`` calls at the same size that follow it, and the mean of the ``STEADY_CALLS`` after
    those (cold, warm and steady calls of a chain)."""
    cold = float(timing_fn(batch))
    warm = statistics.fmean(float(timing_fn(batch)) for _ in range(CHAIN_CALLS))
    return cold, warm, statistics.fmean(float(timing_fn(batch)) for _ in range(STEADY_CALLS))


def chain_rounds(timing_fn: Callable[[int], float], sizes: Sequence[int], rounds: int
                 ) -> tuple[dict[int, list[float]], dict[int, list[float]], dict[int, list[float]]]:
    """``rounds`` round-robin passes over ``sizes``, one ``chain_timings`` per size each, so every size's
    first call follows other work: (cold, warm, steady) seconds per size, one sample per round."""
    cold: dict[int, list[float]] = {n: [] for n in sizes}
    warm: dict[int, list[float]] = {n: [] for n in sizes}
    steady: dict[int, list[float]] = {n: [] for n in sizes}
    for _ in range(rounds):
        for n in sizes:
            c, w, st = chain_timings(timing_fn, n)
            cold[n].append(c)
            warm[n].append(w)
            steady[n].append(st)
    return cold, warm, steady


def _clean_latencies(latency: dict[Any, Any]) -> dict[int, float]:
    """``{batch: seconds}`` checked (batch >= 1, finite seconds >= 0) and sorted by batch."""
    clean: dict[int, float] = {}
    for n, s in latency.items():
        n = int(n)
        if n < 1 or not math.isfinite(float(s)) or float(s) < 0:
            raise ValueError(f"CostModel: bad measurement batch={n} latency={s!r} "
                             "(batch >= 1, latency a finite number >= 0)")
        clean[n] = float(s)
    return dict(sorted(clean.items()))


def _interpolate(latency: dict[int, float], batch: float) -> float:
    """Seconds at ``batch`` rows from measured ``{batch: seconds}``: piecewise-linear between sizes
    (made non-decreasing), the smallest size's value below it, linear extrapolation above."""
    if batch <= 0:
        raise ValueError(f"batch must be > 0, got {batch}")
    ns = list(latency)
    ys = list(_running_max(latency.values()))  # non-decreasing in batch
    if batch <= ns[0]:
        return ys[0]
    for (n0, y0), (n1, y1) in zip(zip(ns, ys), zip(ns[1:], ys[1:])):
        if batch <= n1:
            return y0 + (y1 - y0) * (batch - n0) / (n1 - n0)
    if len(ns) == 1:  # one point: assume cost proportional to rows beyond it
        return ys[0] * batch / ns[0]
    slope = max(0.0, (ys[-1] - ys[-2]) / (ns[-1] - ns[-2]))
    return ys[-1] + slope * (batch - ns[-1])


def _running_max(values: Any) -> list[float]:
    """Running maximum (timing noise must not make a bigger batch look cheaper)."""
    out: list[float] = []
    for v in values:
        out.append(v if not out else max(out[-1], v))
    return out


STALE_FACTOR = 2.0  # a cached batch-1 cost this far off a fresh check is measured again


def _cache_holds(cached: "CostModel", denoiser: Denoiser, x_shape: Sequence[int], cond_dim: int, t_value: float,
                 device: torch.device | str) -> bool:
    """Whether a cached model's smallest-batch cost still holds on this machine now: one warm-up and
    the median of three timed calls within ``STALE_FACTOR`` of it (of its warm cost when it has one:
    these calls follow each other). A model measured while other work loaded the cores would
    otherwise be trusted forever (seen: 7.9 ms cached against 2.0 ms)."""
    n = min(cached.latency_s)
    timing = _real_timing(denoiser, x_shape, cond_dim, t_value, device)
    timing(n)
    now = statistics.median(float(timing(n)) for _ in range(3))
    ref = cached.warm_latency_s.get(n, cached.latency_s[n])
    return ref / STALE_FACTOR <= now <= ref * STALE_FACTOR


def _timed_levels(denoiser: Denoiser, t_value: float) -> list[float]:
    """The levels a timing call runs at: every step level of a student with one network per step
    (``level_experts``; its networks may differ in size, and each runs once per chunk), else ``t_value``."""
    cfg = getattr(getattr(denoiser, "__self__", None), "config", None)
    if cfg is not None and getattr(cfg, "level_experts", False) and cfg.timesteps is not None:
        return [float(t) for t in cfg.timesteps[:-1]]
    return [float(t_value)]


def _real_timing(denoiser: Denoiser, x_shape: Sequence[int], cond_dim: int, t_value: float,
                 device: torch.device | str) -> Callable[[int], float]:
    """Seconds of one real no-grad denoiser call on random inputs of ``batch`` rows (for a level-expert
    student, the mean of one call at each of its levels). The inputs of each batch size are drawn
    once and reused: fresh inputs before every call timed the Push-T U-Net's warm batch-1 call at
    1.04 ms in a bench process whose flow-100 chain ran at 0.71 ms per call, reused ones at 0.64 ms
    (stop 39)."""
    levels = _timed_levels(denoiser, t_value)
    inputs: dict[int, tuple[Tensor, Tensor, list[Tensor]]] = {}
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)

    def timing(batch: int) -> float:
        if batch not in inputs:
            inputs[batch] = (torch.randn((batch, *x_shape), device=device),  # (n, H, Da)
                             torch.randn((batch, cond_dim), device=device),  # (n, Dc)
                             [torch.full((batch,), level, device=device) for level in levels])  # (n,) each
        x, c, ts = inputs[batch]
        total = 0.0
        with torch.no_grad():
            for t in ts:
                sync()
                t0 = time.perf_counter()
                denoiser(x, t, c)
                sync()
                total += time.perf_counter() - t0
        return total / len(levels)
    return timing
