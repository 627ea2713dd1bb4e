"""Benchmark: a policy network's traced call with its convolutions as the library's, as products by
stop 39's fixed rule, and as products where this machine's timing chose them (stop 40), by batch size.

    python videos/bench/conv_speed/conv_speed.py CHECKPOINT [CHECKPOINT ...]

One torch thread. For each checkpoint and batch size the three traces (``trace_network(...,
matmul_convs=False)``, ``(..., tune_convs=False)`` and the default) are timed in interleaved rounds
(warm-up, then ``ROUNDS`` rounds of ``CALLS`` calls each, the order rotating), so a drift of the
machine hits all of them. Prints and writes ``conv_speed.json`` and ``conv_speed.md`` next to this
file (p50/p99 per call, and the library's p50 over each product variant's). Stop 39's two-column
run is kept as ``conv_speed_stop39.{json,md}``.
"""
from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import torch

from parapolicy.planners.cost_model import device_name
from parapolicy.planners.stats import latency_summary
from parapolicy.policies.checkpoint import load_policy
from parapolicy.policies.conv_tuning import tuned_bands
from parapolicy.policies.matmul_conv import swap_convs
from parapolicy.policies.traced import trace_network

BATCHES = (1, 2, 4, 8, 16, 32, 128)
ROUNDS, CALLS, WARM = 20, 100, 200


def timings(fn, calls: int) -> list[float]:
    """Seconds per call of ``fn``, each call timed alone."""
    out = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main(paths: list[str]) -> None:
    torch.set_num_threads(1)
    here = Path(__file__).resolve().parent
    rows = []
    for path in paths:
        policy = load_policy(path)
        net = policy.inference_net.eval()
        cfg = policy.config
        g = torch.Generator().manual_seed(0)
        obs = torch.randn((1, cfg.obs_horizon, cfg.obs_dim), generator=g)
        with torch.no_grad():
            cond1 = policy.encode_obs(obs)  # (1, Dc)
        x1 = torch.randn((1, cfg.pred_horizon, cfg.action_dim), generator=g)  # (1, H, Da)
        example = (x1, policy.example_network_time(), cond1)
        traces = {"library": trace_network(net, example, matmul_convs=False),
                  "fixed": trace_network(net, example, tune_convs=False),
                  "tuned": trace_network(net, example)}
        swapped = {"fixed": swap_convs(net)[1], "tuned": swap_convs(net, band=tuned_bands(net, example))[1]}
        for b in BATCHES:
            x, t, c = x1.repeat(b, 1, 1), torch.rand(b, generator=g), cond1.repeat(b, 1)  # (b, H, Da), (b,), (b, Dc)
            times: dict[str, list[float]] = {k: [] for k in traces}
            with torch.no_grad():
                for k, f in traces.items():
                    timings(lambda: f(x, t, c), WARM)
                for r in range(ROUNDS):
                    order = list(traces)[r % len(traces):] + list(traces)[:r % len(traces)]
                    for k in order:
                        times[k] += timings(lambda: traces[k](x, t, c), CALLS)
            row = {"checkpoint": path, "params": sum(p.numel() for p in net.parameters()), "swapped_convs": swapped,
                   "batch": b}
            for k, v in times.items():
                summary = latency_summary(v)
                row[f"{k}_p50_ms"], row[f"{k}_p99_ms"] = summary["p50_ms"], summary["p99_ms"]
            for k in ("fixed", "tuned"):
                row[f"{k}_speedup_p50"] = row["library_p50_ms"] / row[f"{k}_p50_ms"]
            rows.append(row)
            print(f"{path} batch {b}: " + ", ".join(f"{k} p50 {row[k + '_p50_ms']:.3f} ms p99 {row[k + '_p99_ms']:.3f}"
                                                     for k in traces)
                  + f"; speed-up fixed {row['fixed_speedup_p50']:.2f}x, tuned {row['tuned_speedup_p50']:.2f}x", flush=True)
    meta = {"device": device_name("cpu"), "torch": torch.__version__, "threads": 1, "python": platform.python_version(),
            "rounds": ROUNDS, "calls_per_round": CALLS, "command": "python videos/bench/conv_speed/conv_speed.py " + " ".join(paths)}
    (here / "conv_speed.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    lines = ["| checkpoint | batch | library p50 / p99 (ms) | fixed rule p50 / p99 (ms) | tuned p50 / p99 (ms) "
             "| speed-up fixed / tuned (p50) |", "|---|---|---|---|---|---|"]
    for r in rows:
        cells = " | ".join(f"{r[k + '_p50_ms']:.3f} / {r[k + '_p99_ms']:.3f}" for k in ("library", "fixed", "tuned"))
        lines.append(f"| `{r['checkpoint']}` ({r['params'] / 1e6:.2f} M; swapped: fixed {r['swapped_convs']['fixed']}, "
                     f"tuned {r['swapped_convs']['tuned']}) | {r['batch']} | {cells} | "
                     f"{r['fixed_speedup_p50']:.2f}× / {r['tuned_speedup_p50']:.2f}× |")
    lines.append(f"\n<sub>{meta['device']}, torch {meta['torch']}, 1 thread, {ROUNDS}×{CALLS} interleaved calls per "
                 f"cell; `{meta['command']}`</sub>")
    (here / "conv_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: conv_speed.py CHECKPOINT [CHECKPOINT ...]")
    main(sys.argv[1:])
