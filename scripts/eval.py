"""``parapolicy-eval``: evaluate a policy checkpoint on seeded episodes over gymnasium vector envs.

    parapolicy-eval checkpoint=runs/train/<time>/checkpoint episodes=100 num_envs=4
    parapolicy-eval checkpoint=… sampler=ddpm steps=100 video=true
    parapolicy-eval checkpoint=… planner=realtime budget_ms=50 control_hz=10 'menu=[ddpm100,ddim10,student1]' \\
        students=[…]
    parapolicy-eval checkpoint=… planner=async delay=2 rtc_mode=guided num_envs=1
    parapolicy-eval checkpoint=… planner=async budget_ms=100 control_hz=50 max_delay=1 num_envs=1 'menu=[…]'
    parapolicy-eval checkpoint=… planner=async delay=4 lead=true forecaster=runs/…/forecaster num_envs=1
    parapolicy-eval checkpoint=… planner=realtime budget_ms=20 control_hz=50 device=cuda   # policy on the GPU
    parapolicy-eval checkpoint=… planner=realtime budget_ms=18 jit=false   # eager (auto: traced for the planners)

Writes one JSON file: success rate with its 95% Wilson interval, mean return / max coverage, the
per-episode records, and per-chunk inference latency p50/p99, with provenance.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from parapolicy.scripts.common import EnvConfig, hydra_app, output_dir, provenance, write_json_atomic


@dataclass
class EvalConfig:
    """Config of ``parapolicy-eval``."""

    checkpoint: str = "???"
    env: EnvConfig | None = None
    episodes: int = 100
    num_envs: int = 4
    sampler: str | None = None
    steps: int | None = None
    action_horizon: int | None = None
    seed: int = 100_000
    video: bool = False
    video_episodes: int = 2
    out: str | None = None
    use_async: bool = True
    planner: str = "chunked"
    budget_ms: float | None = None
    control_hz: float = 10.0
    delay: int | None = None
    max_delay: int | None = None
    lead: bool = False
    forecaster: str | None = None
    menu: list[str] | None = None
    rtc_mode: str = "guided"
    students: list[str] = field(default_factory=list)
    cost_cache: str | None = None
    temperature: float = 1.0
    device: str = "cpu"  # cpu | cuda | auto: where the policy (and students) run
    jit: Any = "auto"  # true | false | auto: frozen TorchScript traces of the policy and students (about 2x
    #                   faster at batch 1 on a CPU); auto traces for planner=realtime/async, where a deadline counts

    def __post_init__(self) -> None:
        from parapolicy.policies.config import DEVICES

        if self.device not in DEVICES:
            raise ValueError(f"unknown device {self.device!r}; allowed: {', '.join(DEVICES)}")
        if self.episodes < 1 or self.num_envs < 1:
            raise ValueError(f"episodes and num_envs must be >= 1, got {self.episodes}, {self.num_envs}")
        if self.steps is not None and self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        from parapolicy.policies.sampling import check_temperature

        check_temperature(self.temperature)
        if self.menu is not None and self.planner == "chunked":
            raise ValueError("menu= applies to planner=realtime and planner=async; planner=chunked runs "
                             "sampler=/steps= (a one-item menu with planner=realtime runs that item on every replan)")
        if self.temperature != 1.0 and self.planner != "chunked":
            raise ValueError("temperature= applies to planner=chunked; for the planners give menu items a "
                             "-t<temperature> suffix (e.g. menu=[flow10-t0.8])")
        if not (isinstance(self.jit, bool) or self.jit == "auto"):
            raise ValueError(f"jit must be true, false or auto, got {self.jit!r}")
        if not Path(self.checkpoint).is_dir():
            raise FileNotFoundError(f"checkpoint directory not found: {self.checkpoint}")
        from parapolicy.planners.menu import PLANNERS

        if self.planner not in PLANNERS:
            raise ValueError(f"unknown planner {self.planner!r}; allowed: {', '.join(PLANNERS)}")
        if self.planner == "async" and self.num_envs != 1:
            raise ValueError("planner=async drives one environment: set num_envs=1")
        for name in ("delay", "max_delay"):
            if getattr(self, name) is not None and self.planner != "async":
                raise ValueError(f"{name}= applies to planner=async (planner={self.planner} has no inference delay)")
        if not isinstance(self.lead, bool):
            raise ValueError(f"lead must be true or false, got {self.lead!r}")
        if self.lead and self.planner != "async":
            raise ValueError(f"lead=true applies to planner=async (planner={self.planner} has no inference delay)")
        if self.forecaster is not None and self.planner != "async":
            raise ValueError(f"forecaster= applies to planner=async (planner={self.planner} has no inference delay)")


class StatusPolicy:
    """Forwards a planner's reset/act (batch of one included) and shows its last sampler and latency.

    An async executor in wall-clock timing is paced here: each ``act`` waits for its tick (one every
    ``1 / control_hz`` s from the episode's reset), so its worker meets a real control rate and its
    missed-tick count means what it says. The clock restarts at every reset.
    """

    def __init__(self, planner: Any, *, clock: Any = time.perf_counter, sleep: Any = time.sleep) -> None:
        self.planner = planner
        self.single_env = not hasattr(planner, "choose")  # the async executor drives one env
        self.paced = self.single_env and getattr(planner, "timing", None) == "wall"
        self.period = 1.0 / float(getattr(planner, "control_hz", 1.0))
        self.clock, self.sleep = clock, sleep
        self._due: float | None = None

    def reset(self, *, seed: int | None = None, indices: Any = None) -> None:
        """Reset the wrapped planner (a one-env executor resets whole)."""
        if self.single_env:
            self.planner.reset(seed=seed)
        else:
            self.planner.reset(seed=seed, indices=indices)
        self._due = None

    def act(self, obs: Any) -> Any:
        """The wrapped planner's action, shaped like the observation batch."""
        obs = np.asarray(obs)
        if self.paced:
            now = self.clock()
            if self._due is None:
                self._due = now
            elif now < self._due:
                self.sleep(self._due - now)
            self._due += self.period
        if self.single_env and obs.ndim == 2:
            return np.asarray(self.planner.act(obs[0]))[None]  # (1, Da)
        return self.planner.act(obs)

    def close(self) -> None:
        """Stop the wrapped planner's background worker, if it has one."""
        _close(self.planner)

    @property
    def status(self) -> str:
        """``<sampler> <latency> ms`` of the most recent replan."""
        records = getattr(self.planner, "records", None)
        if not records:
            return ""
        rec = records[-1]
        return f"{rec.name} {rec.latency_s * 1e3:.0f} ms"


def apply_jit(policy: Any, setting: bool | str, *, planner: str) -> bool:
    """Trace ``policy`` for inference as ``jit=`` says and return whether it now runs traced.

    ``auto`` traces for the deadline-driven planners (realtime, async) only, and when the trace does
    not match the eager network it warns on one line and runs eager; ``true`` lets that mismatch end
    the run as an error.
    """
    from parapolicy.policies.traced import TraceMismatchError

    if setting is False or (setting == "auto" and planner == "chunked"):
        return False
    try:
        policy.trace_inference()
    except TraceMismatchError as err:
        if setting is True:
            raise
        print(f"warning: jit=auto runs the network eager: {err}", file=sys.stderr, flush=True)
        return False
    return True


def make_runner(cfg: EvalConfig, policy: Any, seed: int) -> Any:
    """The control-loop policy over ``policy`` that ``cfg.planner`` asks for."""
    if cfg.planner == "chunked":
        from parapolicy.policies import ChunkedPolicy

        return ChunkedPolicy(policy, action_horizon=cfg.action_horizon, sampler=cfg.sampler, steps=cfg.steps,
                             seed=seed, temperature=cfg.temperature)
    from parapolicy.planners.menu import build_planner, load_students

    students = load_students(cfg.students, policy, device=policy.device) if cfg.students else None
    return StatusPolicy(build_planner(policy, planner=cfg.planner, menu=cfg.menu, budget_ms=cfg.budget_ms,
                                      control_hz=cfg.control_hz, delay=cfg.delay, rtc_mode=cfg.rtc_mode,
                                      student=students, seed=seed, cost_cache_dir=cfg.cost_cache,
                                      execute_every=cfg.action_horizon, max_delay=cfg.max_delay,
                                      lead=cfg.lead, forecaster=cfg.forecaster))


def evaluate_checkpoint(cfg: EvalConfig) -> dict[str, Any]:
    """Run the evaluation and write its JSON; returns the JSON content."""
    from parapolicy.planners.stats import latency_summary
    from parapolicy.planners.vector_eval import evaluate_vector, results_to_dicts, summarize_results
    from parapolicy.policies import read_checkpoint_config
    from parapolicy.policies.trainer import resolve_device
    from parapolicy.scripts.policy_checkpoint import load_for_env
    from parapolicy.scripts.results_table import training_record

    device = resolve_device(cfg.device)  # ValueError: one error line, like every bad input
    pcfg, _ = read_checkpoint_config(cfg.checkpoint)
    env_cfg = cfg.env or EnvConfig(id=pcfg.env_id or "")
    probe = env_cfg.make()
    policy = load_for_env(cfg.checkpoint, probe, env_cfg.id).to(device)
    probe.close()
    jit = apply_jit(policy, cfg.jit, planner=cfg.planner)
    runner = make_runner(cfg, policy, cfg.seed)
    t0 = time.perf_counter()
    try:
        results = evaluate_vector(env_cfg.make, runner, episodes=cfg.episodes, num_envs=cfg.num_envs, seed=cfg.seed,
                                  use_async=cfg.use_async)
    finally:  # a wall-clock async worker left running would abort the interpreter at exit
        _close(runner)
    wall = time.perf_counter() - t0
    summary = summarize_results(results)
    sampler = cfg.sampler or pcfg.sampler
    steps = cfg.steps or pcfg.num_inference_steps
    out = Path(cfg.out) if cfg.out else output_dir() / "eval.json"
    report: dict[str, Any] = {
        "env_id": env_cfg.id, "checkpoint": str(cfg.checkpoint), "policy": pcfg.to_dict(),
        "sampler": sampler if pcfg.kind == "diffusion" else None, "steps": steps if pcfg.kind == "diffusion" else None,
        "action_horizon": cfg.action_horizon or pcfg.action_horizon, "temperature": cfg.temperature,
        "num_envs": cfg.num_envs, "device": str(device), "jit": jit, "summary": summary,
        "latency_per_chunk": {**latency_summary(_latencies(runner)), "batch": cfg.num_envs},
        "planner": {"kind": cfg.planner, **(runner.planner.summary() if cfg.planner != "chunked" else {})},
        "wall_s": wall, "episodes": results_to_dicts(results), "provenance": provenance(cfg.seed),
        "training": training_record(Path(cfg.checkpoint)),  # so the results table needs no runs/ later
    }
    if cfg.video:
        report["videos"] = [str(p) for p in _videos(cfg, env_cfg, policy, sampler, steps)]
    write_json_atomic(out, report)
    lat = report["latency_per_chunk"]
    rate = summary.get("success_rate")
    ci = summary.get("success_ci95")
    print(f"{env_cfg.id}: " + (f"success {rate:.3f} (95% CI {ci[0]:.3f}-{ci[1]:.3f}), " if rate is not None else "")
          + f"mean return {summary['mean_return']:.2f} over {cfg.episodes} episodes; latency per chunk "
          f"p50 {lat['p50_ms']:.1f} ms p99 {lat['p99_ms']:.1f} ms (batch {cfg.num_envs}) -> {out}")
    return report


def _close(runner: Any) -> None:
    """Call ``runner.close()`` when it has one (an async executor's worker thread must stop)."""
    close = getattr(runner, "close", None)
    if callable(close):
        close()


def _latencies(runner: Any) -> list[float]:
    """Seconds per planned chunk, whichever control-loop policy ran."""
    if hasattr(runner, "chunk_latencies"):
        return list(runner.chunk_latencies)
    return [r.latency_s for r in runner.planner.records]


def _videos(cfg: EvalConfig, env_cfg: EnvConfig, policy: Any, sampler: str, steps: int) -> list[Path]:
    from parapolicy.planners.rollout import run_episode
    from parapolicy.scripts.video import episode_frames, write_video

    env = env_cfg.make(render_mode="rgb_array", width=256, height=256)
    paths = []
    label = f"{sampler}{steps}" if policy.config.kind == "diffusion" else "mse"
    if cfg.temperature != 1.0:
        label += f"-T{cfg.temperature:g}"
    if cfg.planner != "chunked":
        label = f"{cfg.planner}-{cfg.budget_ms or 'auto'}ms"
    for i in range(min(cfg.video_episodes, cfg.episodes)):
        seed = cfg.seed + i
        runner = make_runner(cfg, policy, seed)
        try:
            rec = run_episode(env, runner, seed=seed, render=True)
        finally:
            _close(runner)
        frames = episode_frames(rec.frames, rec.rewards, rec.notes, title=f"{env_cfg.short} | {label} | seed {seed}")
        paths.append(write_video(Path("videos") / env_cfg.short / f"{env_cfg.short}_{label}_seed{seed}.mp4", frames,
                                 fps=env.metadata.get("render_fps", 10)))
    env.close()
    return paths


@hydra_app("eval", EvalConfig)
def main(cfg: EvalConfig) -> None:
    """Console entry point."""
    evaluate_checkpoint(cfg)


if __name__ == "__main__":
    main()
