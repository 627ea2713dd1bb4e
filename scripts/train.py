"""``parapolicy-train``: train a diffusion or MSE policy on demonstrations, with periodic evaluation.

    parapolicy-train env=Fork-v0 policy=diffusion train.steps=3000
    parapolicy-train env=Fork-v0 policy=mse
    parapolicy-train env=PushT-v0 policy.denoiser=transformer policy.objective=flow
    torchrun --nproc_per_node=2 -m parapolicy.scripts.train env=Fork-v0 out=runs/ddp   # DDP (gloo on CPU)
    parapolicy-train env=PushT-v0 'dataset=[runs/data/a.hdf5,runs/data/b.hdf5]'       # several demo files
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parapolicy.scripts.common import EnvConfig, UserError, hydra_app, output_dir, provenance, write_json_atomic


def _policy_defaults() -> dict[str, Any]:
    """Every PolicyConfig field but the data-derived ones, so any can be overridden without ``+``."""
    from parapolicy.policies import PolicyConfig

    d = PolicyConfig(obs_dim=1, action_dim=1).to_dict()
    for key in ("obs_dim", "action_dim", "env_id"):
        d.pop(key)
    d["sampler"] = None  # derived from the objective unless set
    return d


def _train_defaults() -> dict[str, Any]:
    """Every TrainConfig field, so any can be overridden on the command line."""
    from parapolicy.policies import TrainConfig

    return TrainConfig().to_dict()


@dataclass
class TrainScriptConfig:
    """Config of ``parapolicy-train``."""

    env: EnvConfig = field(default_factory=EnvConfig)
    policy: dict[str, Any] = field(default_factory=_policy_defaults)
    train: dict[str, Any] = field(default_factory=_train_defaults)
    dataset: Any = None  # a path, a list of paths (trained on together), or None for the default
    out: str | None = None
    resume: bool = True
    progress: bool = True
    eval_episodes: int = 20
    num_envs: int = 4

    def __post_init__(self) -> None:
        if self.eval_episodes < 0 or self.num_envs < 1:
            raise ValueError(f"eval_episodes must be >= 0 and num_envs >= 1, got {self.eval_episodes}, "
                             f"{self.num_envs}")


#: datasets shipped in ``envs/data`` (collecting them takes longer than a quick start should).
#: The keypoint task converts the state demonstrations (``envs.OBS_CONVERSIONS``).
PACKAGED_DATASETS = {"parapolicy/PushT-v0": "pusht_demos.hdf5", "parapolicy/PushTKeypoints-v0": "pusht_demos.hdf5"}


def default_dataset(env: EnvConfig) -> Path:
    """``runs/data/<env>.hdf5`` when collected there, else the dataset shipped with the package."""
    local = Path("runs/data") / f"{env.short}.hdf5"
    if local.exists() or env.id not in PACKAGED_DATASETS:
        return local
    from importlib.resources import files

    return Path(str(files("parapolicy.envs") / "data" / PACKAGED_DATASETS[env.id]))


def dataset_paths(dataset: Any, env: EnvConfig | None = None) -> list[Path]:
    """The demonstration files named by ``dataset`` (one path or a list of them; ``None``: ``env``'s
    default dataset)."""
    if dataset is None:
        if env is None:
            raise UserError("no dataset given")
        return [default_dataset(env)]
    if isinstance(dataset, (str, Path)):
        return [Path(dataset)]
    paths = [Path(str(p)) for p in dataset]
    if not paths:
        raise UserError("dataset is an empty list: name at least one demonstration file")
    if len({p.resolve() for p in paths}) != len(paths):
        raise UserError(f"dataset names a file twice: {[str(p) for p in paths]}")
    return paths


def load_training_demos(paths: list[Path], env_id: str | None) -> Any:
    """Load, check and concatenate the demonstration files (a ``DemoSet``), as observed by task
    ``env_id`` when one is given. Problems become one-line :class:`UserError` s."""
    from parapolicy.envs import demos_for_env
    from parapolicy.envs.demos import concat_demos, load_demos

    sets = []
    for path in paths:
        try:
            demos = load_demos(path)
            sets.append(demos_for_env(demos, env_id, where=f"dataset {path}") if env_id else demos)
        except ValueError as exc:
            raise UserError(str(exc)) from None
    try:
        return concat_demos(sets)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def dataset_record(paths: list[Path]) -> str | list[str]:
    """How a run's summary records its demonstration files: one path, or the list of them."""
    return str(paths[0]) if len(paths) == 1 else [str(p) for p in paths]


def make_eval_fn(env: EnvConfig, episodes: int, num_envs: int, seed: int = 50_000):
    """``eval_fn(policy, step) -> metrics`` running seeded vector-env episodes of the policy."""
    from parapolicy.planners.vector_eval import evaluate_vector, summarize_results
    from parapolicy.policies import ChunkedPolicy

    def eval_fn(policy: Any, step: int) -> dict[str, Any]:
        runner = ChunkedPolicy(policy, seed=seed)
        results = evaluate_vector(env.make, runner, episodes=episodes, num_envs=num_envs, seed=seed)
        summary = summarize_results(results)
        shown = {k: summary[k] for k in ("success_rate", "mean_return", "mean_max_coverage") if k in summary}
        print(f"\n[eval @ step {step}] " + ", ".join(f"{k} {v:.3f}" for k, v in shown.items()), flush=True)
        return summary

    return eval_fn


def train_policy(cfg: TrainScriptConfig) -> dict[str, Any]:
    """Load demos, build the policy, train it (resumable), save the final checkpoint."""
    from parapolicy.policies import ChunkDataset, PolicyConfig, TrainConfig, make_policy, train

    paths = dataset_paths(cfg.dataset, cfg.env)
    data_path = ", ".join(str(p) for p in paths)
    demos = load_training_demos(paths, cfg.env.id)
    obs = [e.obs for e in demos.episodes]
    actions = [e.actions for e in demos.episodes]
    pcfg = PolicyConfig.from_dict({**cfg.policy, "obs_dim": int(obs[0].shape[1]),
                                   "action_dim": int(actions[0].shape[1]), "env_id": cfg.env.id})
    tcfg = TrainConfig.from_dict(dict(cfg.train))
    dataset = ChunkDataset(obs, actions, obs_horizon=pcfg.obs_horizon, pred_horizon=pcfg.pred_horizon,
                           action_horizon=pcfg.action_horizon)
    policy = make_policy(pcfg, dataset.normalizer)
    out = Path(cfg.out) if cfg.out else output_dir()
    main_rank = int(os.environ.get("RANK", "0")) == 0
    if main_rank:
        print(f"training {pcfg.kind}/{pcfg.denoiser}/{pcfg.objective} ({policy.num_parameters() / 1e6:.2f} M params) "
              f"on {len(demos.episodes)} demos ({len(dataset)} samples) from {data_path} -> {out}")
    eval_fn = make_eval_fn(cfg.env, cfg.eval_episodes, cfg.num_envs) if cfg.eval_episodes else None
    summary = train(policy, dataset, tcfg, out, eval_fn=eval_fn, resume=cfg.resume, progress=cfg.progress)
    if main_rank:
        summary["dataset"] = dataset_record(paths)
        summary["demos"] = len(demos.episodes)
        summary["provenance"] = provenance(tcfg.seed)
        write_json_atomic(out / "train_summary.json", summary)
        ev = summary.get("eval") or {}
        print(f"done: {summary['step']} steps at {summary['steps_per_s'] or 0:.1f} steps/s; "
              f"final loss {summary['final_loss']}; "
              f"eval {({k: ev[k] for k in ('success_rate', 'mean_return') if k in ev})}; "
              f"checkpoint {summary['checkpoint']}")
    return summary


@hydra_app("train", TrainScriptConfig)
def main(cfg: TrainScriptConfig) -> None:
    """Console entry point."""
    train_policy(cfg)


if __name__ == "__main__":
    main()
