"""Stop 40: where a replan's time goes for the 1-call fold and the 2-call pair (traced, one thread).

Builds the bench as `lat39.sh` does, runs each row's batch-1 latency pass under cProfile, and prints
the p50 replan and the top functions by cumulative time."""
import cProfile
import os
import pstats
import sys

os.environ.setdefault("MUJOCO_GL", "egl")
import numpy as np

from parapolicy.scripts.bench import BenchConfig, setup
from parapolicy.scripts.bench_samplers import latency_pass
from parapolicy.planners.menu import build_item

K = "runs/pusht_kp400"
rows = sys.argv[1].split(",")
students = sys.argv[2].split(",")
cfg = BenchConfig(checkpoint=f"{K}/checkpoint", sections=["samplers"], samplers_reference="flow100-t0.8",
                  action_horizon=3, episodes=8, num_envs=8, threads=1, jit=True, students=students,
                  rows=rows, seed=100000, out_dir="runs/b40prof", progress=False, latency_chunks=200)
b = setup(cfg)
for spec in rows:
    item = build_item(spec, b.ctx)
    recs = latency_pass(b, item)
    ms = np.array([r.latency_s for r in recs]) * 1e3
    print(f"{spec}: p50 {np.median(ms):.3f} ms p99 {np.percentile(ms, 99):.3f} (n={len(ms)})")
    pr = cProfile.Profile()
    pr.enable()
    latency_pass(b, item)
    pr.disable()
    pstats.Stats(pr).sort_stats("tottime").print_stats(18)
