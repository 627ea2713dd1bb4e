"""rl-zoo style hyper-parameters for the SB3 experts (a small table in the spirit of rl-baselines3-zoo).

Locomotion tasks use SAC's defaults with 10k random warm-up steps; the small tasks (Reacher,
inverted pendulums) use the zoo's "tuned pybullet" SAC settings, which learn in fewer steps.
"""
from __future__ import annotations

from typing import Any

_SAC_MUJOCO: dict[str, Any] = {"n_timesteps": 1_000_000, "learning_starts": 10_000}
_SAC_SMALL: dict[str, Any] = {
    "learning_rate": 7.3e-4,
    "buffer_size": 300_000,
    "batch_size": 256,
    "ent_coef": "auto",
    "gamma": 0.98,
    "tau": 0.02,
    "train_freq": 8,
    "gradient_steps": 8,
    "learning_starts": 10_000,
    "use_sde": True,
    "policy_kwargs": {"log_std_init": -3, "net_arch": [400, 300], "use_expln": True},
}

SAC: dict[str, dict[str, Any]] = {
    "Hopper-v5": dict(_SAC_MUJOCO),
    "Walker2d-v5": dict(_SAC_MUJOCO),
    "HalfCheetah-v5": dict(_SAC_MUJOCO),
    "Ant-v5": dict(_SAC_MUJOCO),
    "Swimmer-v5": {**_SAC_MUJOCO, "gamma": 0.999},
    "Reacher-v5": {**_SAC_SMALL, "n_timesteps": 300_000},
    "InvertedDoublePendulum-v5": {**_SAC_SMALL, "n_timesteps": 500_000},
    "InvertedPendulum-v5": {**_SAC_SMALL, "n_timesteps": 100_000},
}

TD3: dict[str, dict[str, Any]] = {k: {"n_timesteps": v["n_timesteps"], "learning_starts": 10_000}
                                  for k, v in SAC.items()}

PPO: dict[str, dict[str, Any]] = {k: {"n_timesteps": v["n_timesteps"], "n_steps": 2048, "batch_size": 64,
                                      "gae_lambda": 0.95, "gamma": 0.99, "n_epochs": 10}
                                  for k, v in SAC.items()}

TABLES = {"sac": SAC, "td3": TD3, "ppo": PPO}
FALLBACK_TIMESTEPS = 1_000_000


def zoo_hyperparams(env_id: str, algo: str) -> tuple[int, dict[str, Any]]:
    """(default total timesteps, constructor kwargs) for ``algo`` on ``env_id``."""
    table = TABLES.get(algo.lower())
    if table is None:
        raise ValueError(f"unknown algo {algo!r}; allowed: {', '.join(TABLES)}")
    params = dict(table.get(env_id, {"n_timesteps": FALLBACK_TIMESTEPS}))
    n = int(params.pop("n_timesteps"))
    return n, params
