"""Stop 30 probe: closed-loop success of an AB2 item stopped after k of its K network calls.

An anytime sampler stopped early returns the x0 estimate of its last call, x - t·v at the level t
it reached. On a rho-spaced grid the last steps are short (AB2-5 at rho = 2 reaches t = 0.04 after 4
calls), so a cut run may lose little. This runs the bench's samplers-section evaluation (same
seeds, same planner seed, 8 vector envs, Ta = 3) with each item cut after k calls by a budget whose
clock counts network calls, so the cut is exact and independent of the host's speed.

    MUJOCO_GL=egl python videos/bench/PushTKeypoints-v0-kp400-s30/extra/probes/cut_solvers.py SEED SPEC:K [SPEC:K ...]
"""
import dataclasses
import json
import os
import sys

os.environ.setdefault("MUJOCO_GL", "egl")
import torch  # noqa: E402

from parapolicy.envs import make_env  # noqa: E402
from parapolicy.planners.menu import build_item, make_context  # noqa: E402
from parapolicy.planners.realtime import RealtimePlanner  # noqa: E402
from parapolicy.planners.vector_eval import evaluate_vector, summarize_results  # noqa: E402
from parapolicy.policies import load_policy  # noqa: E402

torch.set_num_threads(1)
seed = int(sys.argv[1])
policy = load_policy("runs/pusht_kp400/checkpoint").eval()
ctx = make_context(policy, seed=seed)
out = {}
for arg in sys.argv[2:]:
    spec, k = arg.rsplit(":", 1)
    k = int(k)
    calls = [0]

    def counting(x, t, c, _den=ctx.model.denoiser):
        calls[0] += 1
        return _den(x, t, c)

    model = dataclasses.replace(ctx.model, denoiser=counting, action_horizon=3)
    item = build_item(spec, ctx)
    # the clock reads network calls; a budget of k + 0.5 "seconds" lets exactly k calls start
    planner = RealtimePlanner(model, [item], budget_ms=(k + 0.5) * 1e3, fixed=item.name, anytime=True, seed=seed,
                              clock=lambda: float(calls[0]))
    res = evaluate_vector(lambda: make_env("PushTKeypoints-v0"), planner, episodes=100, num_envs=8, seed=seed)
    s = summarize_results(res)
    nfe = [r.nfe for r in planner.records]
    out[arg] = {"success_rate": s["success_rate"], "episodes": s["episodes"], "mean_nfe": sum(nfe) / len(nfe),
                "converged_share": sum(r.converged for r in planner.records) / len(planner.records)}
    print(seed, arg, out[arg], flush=True)
json.dump(out, sys.stdout if os.environ.get("CUT_JSON") is None else open(os.environ["CUT_JSON"], "w"), indent=1)
