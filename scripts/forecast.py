"""``parapolicy-forecast``: train the observation forecaster that compensates inference delay.

    parapolicy-forecast checkpoint=runs/pusht_kp400/checkpoint max_delay=4 rollout_steps=10 temperature=0.8
    parapolicy-eval checkpoint=… planner=async num_envs=1 delay=4 lead=true forecaster=runs/pusht_kp400/forecaster
    parapolicy-bench checkpoint=… sections=[delay] forecaster=… 'delay_modes=[guided,guided+lead+forecast]'

Fits ``planners.forecast.ObsForecaster`` for the policy ``checkpoint`` (its task, observation
history To and action size) on demonstrations — by default the dataset the policy was trained on, as
``parapolicy-distill`` finds it — holding out a tenth of the episodes, and prints for each k =
1 … ``max_delay`` the held-out RMSE of the forecast against that of the stale observation.
``rollouts=N`` (default 100; 0: demonstrations only) also rolls the policy itself out for N episodes
(seeds from ``rollout_seed``, away from the evaluation seeds; its sampler ``rollout_sampler`` /
``rollout_steps`` at ``temperature``, or any planner menu spec ``rollout_spec`` such as
``flow5-rho2-ab2-t0.8``: the sampler the policy will be deployed with) and trains on those trajectories
too: what is forecast is the task's physics, which any trajectory shows, and the policy's own states are
the ones it will be asked about (a tenth of them is held out and reported separately). On Push-T this matters more than
anything else: a forecaster trained on demonstrations alone erred 8.9 px against 3.1 px (RMSE, 512 px
workspace) 4 ticks ahead on the policy's own trajectories (videos/bench/planners.md). The forecaster is
written atomically to ``out`` (default ``<checkpoint>/../forecaster``): its weights and ``forecaster.json``
(shapes, normalization, training summary, held-out errors, provenance).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from parapolicy.scripts.common import UserError, hydra_app, provenance


@dataclass
class ForecastCliConfig:
    """``parapolicy-forecast`` settings (``scripts/conf/forecast.yaml``)."""

    checkpoint: str = "???"
    max_delay: int = 4
    dataset: Any = None  # a path or list of paths; null: the policy's training dataset
    out: str | None = None
    overwrite: bool = False
    steps: int = 20000
    batch_size: int = 512
    lr: float = 1e-3
    hidden: int = 512
    seed: int = 0
    rollouts: int = 100  # episodes of the policy's own behaviour added to the demonstrations
    rollout_seed: int = 300_000
    rollout_sampler: str | None = None  # null: the policy's own
    rollout_steps: int | None = None
    rollout_spec: str | None = None  # a menu spec (planners/menu.py) instead of rollout_sampler/steps/temperature
    temperature: float = 1.0
    progress: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.rollouts, bool) or not isinstance(self.rollouts, int) or self.rollouts < 0:
            raise ValueError(f"rollouts must be an integer >= 0, got {self.rollouts!r}")
        from parapolicy.policies.sampling import check_temperature

        check_temperature(self.temperature)
        if self.rollout_spec is not None:
            from parapolicy.planners.menu import parse_spec

            clash = [n for n, v in (("rollout_sampler", self.rollout_sampler), ("rollout_steps", self.rollout_steps))
                     if v is not None] + (["temperature"] if self.temperature != 1.0 else [])
            if clash:
                raise ValueError(f"rollout_spec={self.rollout_spec} names the rollouts' sampler; drop "
                                 f"{', '.join(clash)} (put a temperature in the spec: -t0.8)")
            if parse_spec(self.rollout_spec).needs_student:
                raise ValueError(f"rollout_spec={self.rollout_spec} needs a student; use a teacher sampler")
        for name in ("max_delay", "steps", "batch_size", "hidden"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        if not (isinstance(self.lr, (int, float)) and 0 < self.lr < float("inf")):
            raise ValueError(f"lr must be a number > 0, got {self.lr!r}")
        if not Path(self.checkpoint).is_dir():
            raise FileNotFoundError(f"checkpoint directory not found: {self.checkpoint}")

    @property
    def out_path(self) -> Path:
        """Where the forecaster goes (``out``, else beside the policy's checkpoint)."""
        return Path(self.out) if self.out else Path(self.checkpoint).resolve().parent / "forecaster"


def train_forecaster(cfg: ForecastCliConfig) -> dict[str, Any]:
    """Load the policy's config and demos, fit, report, save; returns the summary."""
    from parapolicy.planners.forecast import fit_forecaster, save_forecaster
    from parapolicy.policies import read_checkpoint_config
    from parapolicy.scripts.distill import teacher_dataset
    from parapolicy.scripts.train import dataset_paths, dataset_record, load_training_demos

    pcfg, _ = read_checkpoint_config(cfg.checkpoint)
    out = cfg.out_path
    if out.exists() and not cfg.overwrite:
        raise FileExistsError(f"{out} already exists; pass overwrite=true to replace it")
    paths = teacher_dataset(cfg.checkpoint, pcfg.env_id or "") if cfg.dataset is None else dataset_paths(cfg.dataset)
    demos = load_training_demos(paths, pcfg.env_id)  # as the policy observes them
    if demos.obs_dim != pcfg.obs_dim or demos.action_dim != pcfg.action_dim:
        raise UserError(f"dataset {', '.join(map(str, paths))} has Do={demos.obs_dim}, Da={demos.action_dim}; the "
                        f"policy has Do={pcfg.obs_dim}, Da={pcfg.action_dim}")
    train, held = _split([(e.obs, e.actions) for e in demos.episodes], cfg.seed)
    roll_train, roll_held, roll_success = [], [], None
    if cfg.rollouts:
        if not pcfg.env_id:
            raise UserError(f"rollouts need the policy's task, and {cfg.checkpoint} records no env_id")
        rolled, roll_success = _rollouts(cfg, pcfg.env_id)
        roll_train, roll_held = _split(rolled, cfg.seed)
    print(f"forecasting up to {cfg.max_delay} ticks ahead for {cfg.checkpoint} ({pcfg.env_id}, To={pcfg.obs_horizon}) "
          f"from {len(train)} demonstrations ({len(held)} held out)"
          + (f" and {len(roll_train)} rollouts ({len(roll_held)} held out; success {roll_success})" if cfg.rollouts
             else "") + f": {cfg.steps} steps", flush=True)
    bar = None
    if cfg.progress:
        from tqdm import tqdm

        bar = tqdm(total=cfg.steps, desc="forecast", unit="step", dynamic_ncols=True)
    try:
        model, fit = fit_forecaster(train + roll_train, held, obs_horizon=pcfg.obs_horizon, max_delay=cfg.max_delay,
                                    steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr, hidden=cfg.hidden,
                                    seed=cfg.seed, env_id=pcfg.env_id,
                                    log=(lambda _i, _l: bar.update(1)) if bar is not None else None)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    finally:
        if bar is not None:
            bar.close()
    if roll_held:
        from parapolicy.planners.forecast import forecast_windows, heldout_rmse

        fit["heldout_rollouts"] = heldout_rmse(model, forecast_windows(roll_held, pcfg.obs_horizon, cfg.max_delay))
    summary = {"policy": str(Path(cfg.checkpoint).resolve()), "dataset": dataset_record(paths), **fit,
               "rollout_success": roll_success, "config": asdict(cfg), "provenance": provenance(cfg.seed)}
    save_forecaster(model, out, extra={"summary": summary}, overwrite=cfg.overwrite)
    for what, rows in (("demonstrations", fit["heldout"]), ("rollouts", fit.get("heldout_rollouts", []))):
        for row in rows:
            print(f"k={row['k']}: held-out RMSE {row['forecast_rmse']:.3g} (stale observation "
                  f"{row['stale_rmse']:.3g}) over {row['windows']} windows of {what}")
    print(f"forecaster: {fit['seconds']:.0f} s, final loss {fit['loss_last']:.4g} -> {out}")
    return summary


def _split(eps: list[Any], seed: int) -> tuple[list[Any], list[Any]]:
    """(train, held out): a tenth of the episodes (at least one when there are two or more)."""
    import numpy as np

    order = np.random.default_rng(seed).permutation(len(eps))
    n_hold = max(1, len(eps) // 10) if len(eps) > 1 else 0
    return [eps[i] for i in order[n_hold:]], [eps[i] for i in order[:n_hold]]


def _rollouts(cfg: ForecastCliConfig, env_id: str) -> tuple[list[Any], float | None]:
    """The policy's own (obs (T, Do), actions (T, Da)) for ``cfg.rollouts`` seeded episodes, and its success rate."""
    from parapolicy.planners.rollout import run_episode
    from parapolicy.policies import ChunkedPolicy, load_policy
    from parapolicy.scripts.common import EnvConfig

    policy = load_policy(cfg.checkpoint)
    if cfg.rollout_spec is not None:
        from parapolicy.planners.menu import build_planner

        runner: Any = build_planner(policy, planner="chunked", menu=[cfg.rollout_spec], seed=cfg.rollout_seed)
    else:
        runner = ChunkedPolicy(policy, sampler=cfg.rollout_sampler, steps=cfg.rollout_steps, seed=cfg.rollout_seed,
                               temperature=cfg.temperature)
    env = EnvConfig(id=env_id).make()
    out, wins = [], []
    try:
        for i in range(cfg.rollouts):
            rec = run_episode(env, runner, seed=cfg.rollout_seed + i)
            out.append((rec.obs, rec.actions))
            if rec.success is not None:
                wins.append(rec.success)
    finally:
        env.close()
    return out, (sum(wins) / len(wins) if wins else None)


@hydra_app("forecast", ForecastCliConfig)
def main(cfg: ForecastCliConfig) -> None:
    """Console entry point."""
    train_forecaster(cfg)


if __name__ == "__main__":
    main()
