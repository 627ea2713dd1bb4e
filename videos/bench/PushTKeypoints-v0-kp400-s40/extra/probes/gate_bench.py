"""Stop 40: an oracle-gated finish. How much of the teacher's finishing call's gain comes from the
replans where it moves the executed actions most?

Runs the bench's ``draft-student1-flow1-at0.05-t0.8`` row (a 1-step student's x0, re-noised to 0.05,
one teacher call) with the router patched: the teacher is always called, but its velocity replaces the
student's only for rows where the teacher's step would move the executed actions (chunk positions
offset … offset + Ta − 1) by more than ``threshold`` (RMS, normalized units). Below it the row keeps
the student's own x0. This gate knows the teacher's answer, so it costs two calls and is an upper
bound for any cheap predictor of the correction; it says whether a 1-call-most-of-the-time cascade
could keep the pair's success.

    python gate_bench.py <tag> <student dir> <threshold | calibrate | random:<p>> [seed sets]

``random:<p>`` is the control: each row escalates with probability p (a fixed generator), whatever its
correction.
writes runs/b37<tag>_<seed>/ like bench37_st.sh, and runs/b37<tag>_<seed>/gate.json (the corrections
seen, and the fraction of rows escalated).
"""
import json
import os
import shutil
import sys

os.environ.setdefault("MUJOCO_GL", "egl")
import numpy as np
import torch

import parapolicy.planners.menu as menu
from parapolicy.scripts.bench import BenchConfig, run_bench

tag, student, arg = sys.argv[1], sys.argv[2], sys.argv[3]
sets = (sys.argv[4] if len(sys.argv) > 4 else "100000").split()
threshold = None if arg in ("calibrate",) or arg.startswith("random:") else float(arg)
p_random = float(arg.split(":")[1]) if arg.startswith("random:") else None
coin = torch.Generator().manual_seed(0)
OFFSET, TA = 1, 3  # obs_horizon 2 -> the current step's action is chunk position 1; Ta = 3
log = {"corrections": [], "escalated": 0, "rows": 0}


class GatedRouter:
    """``LevelRoutedDenoiser``'s interface; keeps the student's velocity for rows the teacher would
    barely move."""

    def __init__(self, student, teacher, handoff):
        self.student, self.teacher, self.handoff = student, teacher, float(handoff)
        self.calls = {"student": 0, "teacher": 0}
        self.v_student = None

    def __call__(self, x_t, t, cond):
        if bool((t.float() > self.handoff).all()):
            self.calls["student"] += 1
            self.v_student = self.student(x_t, t, cond)  # (B, H, Da); x0 = z - v at t = 1
            return self.v_student
        self.calls["teacher"] += 1
        v_t = self.teacher(x_t, t, cond)  # (B, H, Da)
        moved = (self.handoff * (v_t - self.v_student))[:, OFFSET:OFFSET + TA]  # (B, Ta, Da): change of x0
        corr = moved.pow(2).mean(dim=(1, 2)).sqrt()  # (B,)
        log["corrections"] += corr.tolist()
        log["rows"] += corr.numel()
        if threshold is None and p_random is None:
            log["escalated"] += corr.numel()
            return v_t
        up = corr > threshold if p_random is None else torch.rand(corr.shape, generator=coin) < p_random  # (B,)
        log["escalated"] += int(up.sum())
        return torch.where(up[:, None, None], v_t, self.v_student)


menu.LevelRoutedDenoiser = GatedRouter
torch.set_num_threads(1)
for s in sets:
    d = f"runs/b37{tag}_{s}"
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(f"runs/b36ref_{s}", d)
    log.update(corrections=[], escalated=0, rows=0)
    cfg = BenchConfig(checkpoint="runs/pusht_kp400/checkpoint", sections=["samplers"],
                      samplers_reference="flow100-t0.8", action_horizon=3, episodes=100, num_envs=8, threads=1,
                      jit=True, students=[student], rows=["draft-student1-flow1-at0.05-t0.8"], seed=int(s),
                      out_dir=d, progress=False, latency_chunks=10)
    res = run_bench(cfg)
    row = [r for r in res["samplers"]["rows"] if r["name"] == "draft-student1-flow1-at0.05-t0.8"][0]
    c = np.array(log["corrections"])
    q = {f"q{int(p * 100)}": float(np.quantile(c, p)) for p in (0.25, 0.5, 0.75, 0.9, 0.95)}
    out = {"threshold": threshold, "p_random": p_random, "escalation_rate": log["escalated"] / max(log["rows"], 1), "rows": log["rows"],
           "correction_quantiles": q, "success": row["success_rate"]}
    (json.dump(out, open(f"{d}/gate.json", "w"), indent=1))
    print(tag, s, "success", row["success_rate"], "escalation", round(out["escalation_rate"], 3), q, flush=True)
