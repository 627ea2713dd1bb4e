"""Small statistics: Wilson intervals and latency percentiles for reports, and a plain-Python quantile
for the planners' per-replan decisions."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% (by default) Wilson score interval for a success rate of ``successes`` out of ``n``."""
    if n <= 0:
        return (0.0, 1.0)
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, {n}], got {successes}")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50 / p99 / mean latency in milliseconds (empty input gives NaNs)."""
    if len(seconds) == 0:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "mean_ms": float("nan"), "count": 0}
    ms = np.asarray(seconds, dtype=np.float64) * 1e3
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "mean_ms": float(ms.mean()), "count": int(len(ms))}


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q``-quantile (0 ≤ q ≤ 1) of ``values`` by linear interpolation between the closest
    ranks, as ``np.percentile(values, 100 q)`` computes it by default, in plain Python.

    For the planners' choices inside a control tick: a few dozen numbers cost microseconds here,
    where ``np.percentile`` / ``np.median`` cost about 0.1 ms a call and, the first time a process
    calls either, import ``numpy.ma`` (8–17 ms measured on this project's CPU), enough to make
    the first replan of a 50 Hz loop miss its tick.
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be in [0, 1], got {q}")
    xs = sorted(float(v) for v in values)
    if not xs:
        raise ValueError("quantile of an empty sequence")
    pos = q * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)
