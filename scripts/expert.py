"""``parapolicy-expert``: train, evaluate and save a stable-baselines3 expert for a task.

    parapolicy-expert env=Reacher-v5 algo=sac timesteps=50000
    parapolicy-expert env=Reacher-v5 algo=sac resume=runs/experts/Reacher-v5-sac/model.zip timesteps=20000
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parapolicy.scripts.common import EnvConfig, hydra_app, provenance, write_json_atomic
from parapolicy.scripts.sb3_zoo import TABLES, zoo_hyperparams


@dataclass
class ExpertConfig:
    """Config of ``parapolicy-expert``."""

    env: EnvConfig = field(default_factory=lambda: EnvConfig(id="Hopper-v5"))
    algo: str = "sac"
    timesteps: int | None = None
    seed: int = 0
    out: str | None = None
    resume: str | None = None
    eval_episodes: int = 10
    hyperparams: dict[str, Any] = field(default_factory=dict)
    progress: bool = True
    device: str = "cpu"

    def __post_init__(self) -> None:
        self.algo = self.algo.lower()
        if self.algo not in TABLES:
            raise ValueError(f"algo must be one of {', '.join(TABLES)}, got {self.algo!r}")
        if self.timesteps is not None and self.timesteps < 1:
            raise ValueError(f"timesteps must be >= 1, got {self.timesteps}")
        if self.eval_episodes < 1:
            raise ValueError(f"eval_episodes must be >= 1, got {self.eval_episodes}")
        if self.resume is not None and not Path(self.resume).is_file():
            raise FileNotFoundError(f"resume: no saved model at {self.resume}")


def train_expert(cfg: ExpertConfig) -> dict[str, Any]:
    """Train (or continue) an SB3 model, evaluate it and save model.zip + a JSON sidecar."""
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.monitor import Monitor

    from parapolicy.envs.experts import sb3_algo_class

    default_steps, params = zoo_hyperparams(cfg.env.id, cfg.algo)
    params.update(cfg.hyperparams)
    total = cfg.timesteps or default_steps
    out = Path(cfg.out) if cfg.out else Path("runs/experts") / f"{cfg.env.short}-{cfg.algo}" / "model.zip"
    if out.suffix != ".zip":
        out = out / "model.zip"
    algo_cls = sb3_algo_class(cfg.algo)
    env = Monitor(cfg.env.make())
    if cfg.resume:
        model = algo_cls.load(cfg.resume, env=env, device=cfg.device)
        replay = Path(cfg.resume).with_name(Path(cfg.resume).stem + "_replay.pkl")
        if hasattr(model, "load_replay_buffer") and replay.is_file():
            model.load_replay_buffer(str(replay))
    else:
        model = algo_cls("MlpPolicy", env, seed=cfg.seed, device=cfg.device, verbose=0, **params)
    t0 = time.process_time()
    w0 = time.perf_counter()
    model.learn(total_timesteps=total, progress_bar=cfg.progress, reset_num_timesteps=not cfg.resume)
    cpu_s, wall_s = time.process_time() - t0, time.perf_counter() - w0
    eval_env = Monitor(cfg.env.make())
    eval_env.reset(seed=cfg.seed + 10_000)
    mean_r, std_r = evaluate_policy(model, eval_env, n_eval_episodes=cfg.eval_episodes, deterministic=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(out))
    if hasattr(model, "save_replay_buffer"):
        model.save_replay_buffer(str(out.with_name(out.stem + "_replay.pkl")))
    info = {
        "env_id": cfg.env.id, "algo": cfg.algo, "timesteps_this_run": total,
        "num_timesteps_total": int(model.num_timesteps), "hyperparams": params,
        "eval_episodes": cfg.eval_episodes, "eval_mean_return": float(mean_r), "eval_std_return": float(std_r),
        "cpu_s": cpu_s, "wall_s": wall_s, "resumed_from": cfg.resume, "provenance": provenance(cfg.seed),
    }
    write_json_atomic(out.with_suffix(".json"), info)
    print(f"{cfg.env.id} {cfg.algo}: {model.num_timesteps} steps, eval return {mean_r:.2f} ± {std_r:.2f} "
          f"over {cfg.eval_episodes} episodes, {wall_s:.0f} s wall / {cpu_s:.0f} s CPU -> {out}")
    return info


@hydra_app("expert", ExpertConfig)
def main(cfg: ExpertConfig) -> None:
    """Console entry point."""
    train_expert(cfg)


if __name__ == "__main__":
    main()
