"""PNG plots for ``parapolicy-bench`` (matplotlib, headless Agg backend).

* ``pareto_plot``   — success rate (95% Wilson interval) against p50 latency per chunk, one point per
  sampler configuration, log-scaled latency, the Pareto frontier drawn through the best points.
* ``delay_plot``    — success against simulated inference delay d, one curve per real-time-chunking mode.
* ``realtime_plot`` — the wall-clock run: per-replan latency histogram with the budget, and how often
  each menu item was chosen.

Each function takes plain dicts (the JSON the benchmark writes), writes one PNG atomically and returns
its path.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)


def _save(fig: Any, path: Path) -> Path:
    """Write ``fig`` to ``path`` through a temporary file and a rename; closes the figure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, path)
    return path


def _metric(rows: Sequence[Mapping[str, Any]]) -> str:
    """``success_rate`` when the task reports success, else ``mean_return``."""
    return "success_rate" if any(r.get("success_rate") is not None for r in rows) else "mean_return"


def _y_axis(ax: Any, key: str) -> None:
    if key == "success_rate":
        ax.set_ylabel("success rate (95% CI)")
        ax.set_ylim(-0.02, 1.05)
    else:
        ax.set_ylabel("mean return")


def _yerr(rate: float, ci: Sequence[float] | None) -> list[float]:
    """Asymmetric error bar lengths from an interval (none without one)."""
    if not ci:
        return [0.0, 0.0]
    return [max(0.0, rate - ci[0]), max(0.0, ci[1] - rate)]


def pareto_frontier(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points not dominated by another (lower-or-equal latency and higher-or-equal
    success, one strictly), sorted by latency."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    best, out = -1.0, []
    for i in order:
        if points[i][1] > best:
            out.append(i)
            best = points[i][1]
    return out


def pareto_plot(rows: Sequence[Mapping[str, Any]], path: Path, *, title: str = "") -> Path:
    """Success against p50 latency per chunk for sampler rows with ``name``, ``success_rate``,
    ``success_ci95`` and ``latency_p50_ms`` (mean return for tasks without a success flag)."""
    key = _metric(rows)
    pts = [dict(r, success_rate=r[key]) for r in rows if r.get(key) is not None and r.get("latency_p50_ms")]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    markers = "osD^v<>pP*Xh"
    for i, r in enumerate(pts):
        x, y = float(r["latency_p50_ms"]), float(r["success_rate"])
        ax.errorbar([x], [y], yerr=[[v] for v in _yerr(y, r.get("success_ci95"))], fmt=markers[i % len(markers)],
                    capsize=3, label=str(r["name"]))
    if pts:
        front = pareto_frontier([(float(r["latency_p50_ms"]), float(r["success_rate"])) for r in pts])
        ax.plot([pts[i]["latency_p50_ms"] for i in front], [pts[i]["success_rate"] for i in front], "--",
                color="grey", lw=1, label="Pareto frontier")
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7, frameon=False)
        ax.set_xscale("log")
    ax.set_xlabel("p50 latency per chunk, batch 1 (ms, log scale)")
    _y_axis(ax, key)
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(title or "success vs latency", fontsize=10)
    return _save(fig, path)


def delay_plot(curves: Mapping[str, Sequence[Mapping[str, Any]]], path: Path, *, title: str = "") -> Path:
    """Success against delay d for each mode: ``curves[mode] = [{"delay", "success_rate",
    "success_ci95"}, ...]``."""
    fig, ax = plt.subplots(figsize=(5.6, 4.0))
    modes = list(curves)
    key = _metric([p for m in modes for p in curves[m]])
    for j, mode in enumerate(modes):
        pts = sorted((dict(p, success_rate=p[key]) for p in curves[mode] if p.get(key) is not None),
                     key=lambda p: p["delay"])
        if not pts:
            continue
        shift = (j - (len(modes) - 1) / 2) * 0.06  # keep overlapping error bars apart
        xs = [p["delay"] + shift for p in pts]
        ys = [p["success_rate"] for p in pts]
        err = list(zip(*[_yerr(p["success_rate"], p.get("success_ci95")) for p in pts]))
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=mode)
    ax.set_xlabel("simulated inference delay d (control ticks)")
    _y_axis(ax, key)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or "success vs inference delay", fontsize=10)
    return _save(fig, path)


def realtime_plot(latencies_ms: Sequence[float], chosen: Mapping[str, int], budget_ms: float, path: Path, *,
                  title: str = "") -> Path:
    """Per-replan latency histogram (with the budget line) beside the chosen-item counts."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9.0, 3.6))
    if latencies_ms:
        a1.hist(list(latencies_ms), bins=40, color="tab:blue", alpha=0.8)
    a1.axvline(budget_ms, color="tab:red", ls="--", label=f"budget {budget_ms:g} ms")
    a1.set_xlabel("latency per replan (ms)")
    a1.set_ylabel("replans")
    a1.legend(fontsize=8)
    names = list(chosen)
    a2.bar(range(len(names)), [chosen[n] for n in names], color="tab:green")
    a2.set_xticks(range(len(names)))
    a2.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    a2.set_ylabel("times chosen")
    fig.suptitle(title or "real-time run", fontsize=10)
    return _save(fig, path)
