"""Compare observation forecasters on the same fresh rollouts of the deployed sampler (stop 31).

Rolls the 400-demo Push-T keypoint policy out with ``flow5-rho2-ab2-t0.8`` at its trained Ta = 8 on
seeds that neither forecaster trained on, then reports for each forecaster and each k = 1..4 the RMSE
(pixels) of the forecast split into the pusher (obs[0:2]) and the T's corners (obs[2:18]), overall and
on windows where the T moves during the k ticks (contact), beside the stale observation's error.

    MUJOCO_GL=egl .venv/bin/python videos/bench/PushTKeypoints-v0-kp400-s31/extra/probes/forecaster_compare.py \
        runs/pusht_kp400/forecaster_roll runs/pusht_kp400/forecaster_ab2
"""
import json
import os
import sys

os.environ.setdefault("MUJOCO_GL", "egl")
import numpy as np
import torch

from parapolicy.planners.forecast import forecast_windows, load_forecaster
from parapolicy.planners.menu import build_planner
from parapolicy.planners.rollout import run_episode
from parapolicy.policies import load_policy
from parapolicy.scripts.common import EnvConfig

torch.set_num_threads(1)
CKPT, EPISODES, SEED = "runs/pusht_kp400/checkpoint", 40, 900_000
policy = load_policy(CKPT)
planner = build_planner(policy, planner="chunked", menu=["flow5-rho2-ab2-t0.8"], seed=SEED)
env = EnvConfig(id=policy.config.env_id).make()
eps, wins = [], []
for i in range(EPISODES):
    rec = run_episode(env, planner, seed=SEED + i)
    eps.append((rec.obs, rec.actions))
    wins.append(bool(rec.success))
env.close()
w = forecast_windows(eps, policy.config.obs_horizon, 4)
moved = np.abs(w["target"][:, 2:] - w["hist"][:, -1, 2:]).max(1) > 0.5  # the T moved > 0.5 px
out = {"episodes": EPISODES, "seed": SEED, "success": float(np.mean(wins)), "windows": int(len(w["k"])),
       "forecasters": {}}
print(f"{EPISODES} rollouts, success {np.mean(wins):.2f}, {len(w['k'])} windows, T moving in {moved.mean():.2f}")


def rmse(a, b):
    return float(np.sqrt(((a - b) ** 2).mean())) if len(a) else float("nan")


stale = w["hist"][:, -1]
for path in sys.argv[1:]:
    fc = load_forecaster(path)
    with torch.no_grad():
        pred = fc.predict(torch.as_tensor(w["hist"]), torch.as_tensor(w["actions"]),
                          torch.as_tensor(w["k"])).numpy()  # (N, Do)
    rows = []
    for k in range(1, 5):
        m = w["k"] == k
        mm = m & moved
        y = w["target"]
        row = {"k": k, "pusher": rmse(pred[m, :2], y[m, :2]), "T": rmse(pred[m, 2:], y[m, 2:]),
               "T_moving": rmse(pred[mm, 2:], y[mm, 2:]), "stale_T_moving": rmse(stale[mm, 2:], y[mm, 2:]),
               "stale_pusher": rmse(stale[m, :2], y[m, :2]), "moving_share": float(mm.sum() / max(m.sum(), 1))}
        rows.append(row)
        print(f"{path} k={k}: pusher {row['pusher']:.2f} px (stale {row['stale_pusher']:.2f}), T {row['T']:.2f}, "
              f"T while it moves {row['T_moving']:.2f} (stale {row['stale_T_moving']:.2f}, "
              f"{row['moving_share']:.2f} of windows)")
    out["forecasters"][path] = rows
print(json.dumps(out))
