"""``parapolicy-quickstart``: the main job end to end on one task.

1. collect expert demonstrations; 2. train a diffusion policy on them; 3. evaluate it on vector envs;
4. distill a one-step student; 5. run the real-time planner under a per-replan budget (menu, best
first: the teacher's DDPM-100, its DDIM-10, the student; the cost model is measured afresh), printing
the chosen sampler, latency and success, and write a video of it. Everything lands in this run's
Hydra directory (``runs/quickstart/<time>``) and ``videos/<env>/``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from parapolicy.scripts.common import EnvConfig, hydra_app, output_dir, write_json_atomic


@dataclass
class QuickstartConfig:
    """Config of ``parapolicy-quickstart``."""

    env: EnvConfig = field(default_factory=EnvConfig)
    demos: int = 100
    train_steps: int = 1000
    distill_steps: int = 400
    eval_episodes: int = 20
    budget_ms: float = 100.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("demos", "train_steps", "distill_steps", "eval_episodes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.budget_ms > 0:
            raise ValueError(f"budget_ms must be a number > 0, got {self.budget_ms}")


def _rate(summary: dict[str, Any]) -> str:
    if "success_rate" not in summary:
        return f"mean return {summary['mean_return']:.2f}"
    lo, hi = summary["success_ci95"]
    return f"success {summary['success_rate']:.2f} (95% CI {lo:.2f}-{hi:.2f}, {summary['episodes']} episodes)"


def quickstart(cfg: QuickstartConfig) -> dict[str, Any]:
    """Run the pipeline and return (and save) its summary."""
    from parapolicy.scripts.collect import CollectConfig, collect
    from parapolicy.scripts.distill import DistillConfig, distill_checkpoint
    from parapolicy.scripts.eval import EvalConfig, evaluate_checkpoint
    from parapolicy.scripts.train import TrainScriptConfig, _policy_defaults, _train_defaults, train_policy

    run_dir = output_dir()
    data = run_dir / f"{cfg.env.short}.hdf5"
    print(f"[1/5] collecting {cfg.demos} expert demonstrations on {cfg.env.id}", flush=True)
    collected = collect(CollectConfig(env=cfg.env, episodes=cfg.demos, seed=cfg.seed, out=str(data), progress=False))

    print(f"[2/5] training a diffusion policy for {cfg.train_steps} steps", flush=True)
    train_cfg = {**_train_defaults(), "steps": cfg.train_steps, "lr": 1e-3, "warmup_steps": 100,
                 "eval_every": 0, "ckpt_every": 500, "seed": cfg.seed}
    trained = train_policy(TrainScriptConfig(env=cfg.env, policy=_policy_defaults(), train=train_cfg,
                                             dataset=str(data), out=str(run_dir / "policy"), eval_episodes=0))
    teacher = trained["checkpoint"]

    print(f"[3/5] evaluating it (DDIM-10) on {cfg.eval_episodes} seeded episodes", flush=True)
    ev = evaluate_checkpoint(EvalConfig(checkpoint=teacher, episodes=cfg.eval_episodes, num_envs=4,
                                        out=str(run_dir / "eval_teacher.json")))

    print(f"[4/5] distilling a 1-step student ({cfg.distill_steps} steps)", flush=True)
    student = run_dir / "student1"
    distill_checkpoint(DistillConfig(checkpoint=teacher, steps=cfg.distill_steps, student_steps=1,
                                     dataset=str(data), out=str(student), progress=False, seed=cfg.seed))

    print(f"[5/5] real-time planner, {cfg.budget_ms:g} ms per replan, menu [ddpm100, ddim10, student1]", flush=True)
    rt = evaluate_checkpoint(EvalConfig(checkpoint=teacher, episodes=cfg.eval_episodes, num_envs=1,
                                        planner="realtime", budget_ms=cfg.budget_ms,
                                        menu=["ddpm100", "ddim10", "student1"], cost_cache=str(run_dir / "cost_model"),
                                        students=[str(student)], video=True, video_episodes=1, use_async=False,
                                        out=str(run_dir / "eval_realtime.json")))
    plan = rt["planner"]
    print(f"      chosen samplers {plan.get('chosen')}, replan latency p50 {plan.get('latency_p50_ms', 0):.1f} ms "
          f"p99 {plan.get('latency_p99_ms', 0):.1f} ms, {plan.get('misses', 0)} over budget; {_rate(rt['summary'])}")
    summary = {"collect": collected, "train": {k: trained[k] for k in ("step", "wall_s", "steps_per_s", "checkpoint")},
               "teacher_eval": ev["summary"], "realtime_eval": rt["summary"], "planner": plan,
               "videos": rt.get("videos", []), "dataset": str(data)}
    write_json_atomic(run_dir / "quickstart.json", summary)
    print(f"done: teacher {_rate(ev['summary'])}; real-time {_rate(rt['summary'])}; video {summary['videos']}; "
          f"summary in {run_dir / 'quickstart.json'}")
    return summary


@hydra_app("quickstart", QuickstartConfig)
def main(cfg: QuickstartConfig) -> None:
    """Console entry point."""
    quickstart(cfg)


if __name__ == "__main__":
    main()
