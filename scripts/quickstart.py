"""``parapolicy-quickstart``: the main job end to end on one task.

Collects expert demonstrations, runs the expert in the control loop, and writes an evaluation video.
Everything lands in this run's Hydra directory (``runs/quickstart/<time>``) and ``videos/<env>/``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from parapolicy.scripts.common import EnvConfig, hydra_app, output_dir, write_json_atomic


@dataclass
class QuickstartConfig:
    """Config of ``parapolicy-quickstart``."""

    env: EnvConfig = field(default_factory=EnvConfig)
    demos: int = 100
    eval_episodes: int = 20
    seed: int = 0
    video_dir: str | None = None

    def __post_init__(self) -> None:
        if self.demos < 1 or self.eval_episodes < 1:
            raise ValueError("demos and eval_episodes must be >= 1")


def quickstart(cfg: QuickstartConfig) -> dict:
    """Run the pipeline and return (and save) its summary."""
    from parapolicy.envs.experts import make_expert
    from parapolicy.planners.rollout import run_episode, summarize
    from parapolicy.scripts.collect import CollectConfig, collect
    from parapolicy.scripts.record import RecordConfig, record

    run_dir = output_dir()
    data = run_dir / f"{cfg.env.short}.hdf5"
    print(f"[1/3] collecting {cfg.demos} expert demonstrations on {cfg.env.id}")
    collected = collect(CollectConfig(env=cfg.env, episodes=cfg.demos, seed=cfg.seed, out=str(data)))

    print(f"[2/3] expert in the control loop, {cfg.eval_episodes} fresh seeds")
    env = cfg.env.make()
    expert = make_expert(env, "scripted", seed=cfg.seed + 1)
    base = cfg.seed + 100_000
    stats = summarize([run_episode(env, expert, seed=base + i) for i in range(cfg.eval_episodes)])
    env.close()
    print(f"      success {stats.get('success_rate', float('nan')):.2f} over {stats['episodes']} episodes "
          f"(95% CI {stats.get('success_ci95')})")

    print("[3/3] writing an evaluation video")
    videos = record(RecordConfig(env=cfg.env, episodes=1, seed=base,
                                 out_dir=cfg.video_dir or str(Path("videos") / cfg.env.short)))
    summary = {"collect": collected, "expert_eval": stats, "videos": [str(v) for v in videos],
               "dataset": str(data)}
    write_json_atomic(run_dir / "quickstart.json", summary)
    print(f"done: summary in {run_dir / 'quickstart.json'}")
    return summary


@hydra_app("quickstart", QuickstartConfig)
def main(cfg: QuickstartConfig) -> None:
    """Console entry point."""
    quickstart(cfg)


if __name__ == "__main__":
    main()
