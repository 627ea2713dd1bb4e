"""``parapolicy-bench``: the planners benchmark — samplers, a wall-clock real-time run, delay curves.

    parapolicy-bench checkpoint=runs/fork/checkpoint students=[runs/fork/student1,runs/fork/student2]
    parapolicy-bench checkpoint=… sections=[samplers] rows=[ddpm100,ddim10] episodes=100
    parapolicy-bench checkpoint=… sections=[realtime] realtime_steps=10000 realtime_hz=50 realtime_budget_ms=100
    parapolicy-bench checkpoint=… sections=[delay] delay_values=[0,1,2,4] readme=true

Sections (each writes ``<section>.json`` + ``<section>.md`` into ``out_dir``, default
``runs/bench/<env>/``; then ``bench.md`` and the PNG plots are rebuilt from every section JSON there):

* ``samplers`` — one row per menu spec (``planners/menu.py``), every row on the same seeded
  episodes (``seed … seed + episodes − 1``). Success comes from ``evaluate_vector`` over ``num_envs``
  environments with the row's sampler run to completion (no deadline). nfe, depth and p50/p99
  wall-clock latency per chunk come from a separate batch-1 pass (closed-loop episodes on the same
  seeds until ``latency_chunks`` chunks after ``latency_warmup`` discarded ones; with ``num_envs=1``
  the evaluation itself is that pass). With ``latency_rounds`` R > 1 (and ``num_envs`` > 1) every
  row's success pass runs first, then the latency passes of all the call's rows are interleaved in R
  rounds of about ``latency_chunks`` / R chunks each, so a CPU whose speed drifts over minutes slows
  every row alike and the p50 ratios compare samplers rather than moments (rows merged from an
  earlier call keep their own timing; each row records ``latency_interleaved_with``). The cost
  model is measured fresh at the start of the run (interleaved rounds, trimmed mean per call: see
  ``measure_cost_model``) and predicts each row at batch 1 (Picard with the depth it was seen to
  need, warm starts at each replan's start level) plus the planner's measured per-call overhead; it predicts an expected time, so the error is against the
  measured mean (a cascade's p50 is its student path, its mean includes the escalations). With
  ``cost_per_row`` (default) the denoiser timings are re-measured just before and just after each
  row's latency pass and averaged, so a CPU whose speed drifts (other jobs) is measured as it was.
  Ratios are against the teacher's full sequential chain, the *reference row*: ``ddpm100`` for a
  DDPM-trained teacher, ``flow100`` (Euler, 100 steps) for a flow-matching one; ``samplers_reference``
  names another row of the table for them (e.g. ``flow100-t0.8``, the teacher at the temperature it is
  deployed at, beside students sampled at the same one); it may be a row merged from an earlier run.
  Rows already in ``samplers.json`` from a run on the same checkpoint, env, seed, episode count and Ta
  are kept (``merge=true``) unless re-run, so expensive rows can be run once; each row carries its own
  provenance.
* ``realtime`` — ``AsyncExecutor`` (wall-clock worker thread, real-time chunking) over the
  ``realtime_menu`` with ``realtime_budget_ms`` per replan, paced at ``realtime_hz`` for
  ``realtime_steps`` control ticks over consecutive seeded episodes. Missed ticks = ticks where the old
  chunk had run dry (a held action); late ticks = ticks whose action came after its deadline. The first
  chunk of each episode is planned before the episode's clock starts (the robot waits at rest).
  ``realtime_execute_every`` (default: the policy's Ta) is RTC's execution horizon s, the actions run
  from each chunk before the next one is requested; a shorter s replans more often, so executed actions
  come from fresher observations (the delay must stay d ≤ s). Success is compared with the
  ``realtime_reference`` row (default: the reference row) on the same seeds, and the budget is checked
  against the reference row's predicted latency.
  ``realtime_max_delay`` (ticks, default: none) keeps the planner from choosing a sampler predicted
  to delay the next chunk by more than that, the task's delay tolerance read off the delay section.
  ``realtime_lead=true`` requests each chunk the expected delay early (``AsyncExecutor``'s ``lead``).
  ``realtime_planner=sync`` runs ``RealtimePlanner`` on the control thread instead: it replans every s
  actions inside the tick that needs the action, with the menu item predicted to fit the budget, so a
  chunk costs no delay but must arrive within one control period; there a missed tick is a late one
  (no fresh action at its deadline). It suits samplers that fit a tick (RTC options do not apply).
* ``delay`` — ``AsyncExecutor`` with a simulated delay d for each RTC mode (naive | frozen | guided | pigdm),
  batch-1 episodes on the same seeds, sampler ``delay_sampler`` (default: the policy's own). A mode
  with the suffix ``+lead`` (e.g. ``guided+lead``) requests each chunk d ticks early (``AsyncExecutor``'s
  ``lead``), so the executed actions stay within the first Ta of each chunk; each point reports the
  chunks switched to per 100 control ticks, the compute that costs. ``+forecast`` (with
  ``forecaster=<dir>`` from ``parapolicy-forecast``) plans each chunk from the observations forecast for
  the tick it starts to act (``planners.forecast``); suffixes combine (``guided+lead+forecast``).
  With ``merge=true`` the curves of modes not in ``delay_modes`` are kept from an earlier
  ``delay.json`` of the same checkpoint, sampler, seeds, episodes and Ta (each point records its run).
  ``realtime_forecast=true`` does the same in the real-time section.

The default ``rows`` and ``realtime_menu`` are written for a DDPM teacher; for a flow teacher they are
translated (``ddpm100`` → ``flow100``, ``ddim10`` → ``flow10``, the same Picard/warm-start/student
variants) and get the flow-only ``flow5-rho2-ab2`` and ``flow4-rho2-ab2`` (second-order solver) just
before ``flow10``, so one command line serves both objectives. Rows given explicitly are used as written.

``action_horizon`` (default: the policy's trained Ta) sets the actions executed per chunk in the
``samplers`` section, e.g. a Push-T model trained with Ta = 8 and deployed at Ta = 3; it is part of the
samplers table's run key, so rows at another Ta are not merged into it. (The real-time section has
``realtime_execute_every`` for the same purpose; the delay section keeps the policy's Ta.)

``device=cuda`` (or ``auto``) runs the teacher and students on the GPU: the cost model, overheads and
latencies are measured there (each sampler synchronizes before its chunk counts as done), the
environments stay on the CPU, and the device is part of the samplers table's run key and footnote.

``jit=true`` runs the teacher and students through frozen TorchScript traces of their networks
(``ChunkPolicyBase.trace_inference``: about twice as fast at batch 1 on a CPU, outputs checked equal
to the eager network's). It is part of the samplers table's run key, so traced and eager latencies
are never merged into one table; the real-time section still takes its reference success from eager
rows on the same seeds, since the outputs are the same.

This file holds the config, the shared set-up (teacher, students, cost model) and the entry point; each
section is its own module (``bench_samplers``, ``bench_realtime``, ``bench_delay``), and ``bench_report``
rebuilds the markdown, plots and README splice from the section JSON files.

``readme=true`` splices ``bench.md`` between ``<!-- bench:<name> -->`` and ``<!-- /bench:<name> -->`` in
``readme_path`` (``name`` defaults to ``planners-<env>``) and copies the PNGs to ``readme_assets``.
"""
from __future__ import annotations

import copy
import dataclasses
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from parapolicy.scripts.common import EnvConfig, UserError, hydra_app, provenance, write_json_atomic


SECTIONS = ("samplers", "realtime", "delay")
REALTIME_PLANNERS = ("async", "sync")
DEFAULT_ROWS = ["ddpm100", "ddim10", "picard-ddpm100-p16", "picard-ddpm100-p16-look",
                "picard-ddpm100-p16-look-amortized", "picard-ddpm100-p16-amortized-student",
                "picard-ddpm100-p16-look-amortized-student", "picard-ddpm100-p16-tau0.3-look-amortized",
                "picard-ddpm100-p16-tau0.3-look-amortized-student", "student1", "student2", "warm-ddim10", "cascade"]
DEFAULT_RT_MENU = ["ddpm100", "picard-ddpm100-p16-look-amortized-student", "ddim10", "warm-ddim10", "cascade",
                   "student2", "student1"]
REFERENCE_ROW = "ddpm100"  # the DDPM default; ``reference_row`` gives the row for any teacher
#: a DDPM-default spec's sampler tokens and what they are for a flow-matching teacher
FLOW_TOKENS = {"ddpm100": "flow100", "ddim10": "flow10"}
#: a flow teacher's default rows and menu also get these items, just before the translated key: five and
#: four Adams–Bashforth 2 calls on a grid packed toward the data end (flow-100's success on Push-T,
#: stops 29–30; the four-call item keeps the teacher in a real-time budget on a slow spell of the host)
FLOW_EXTRA = {"flow10": ("flow5-rho2-ab2", "flow4-rho2-ab2")}
COST_STATS = ("mean", "median")
DELAY_SUFFIXES = ("lead", "forecast")  # delay-mode suffixes: ``guided+lead+forecast``


@dataclass
class BenchConfig:
    """Config of ``parapolicy-bench`` (see the module docstring)."""

    checkpoint: str = "???"
    students: list[str] = field(default_factory=list)
    env: EnvConfig | None = None
    dataset: Any = None  # held-out demos (path or list) for the cascade threshold (null: the teacher's dataset)
    sections: list[str] = field(default_factory=lambda: list(SECTIONS))
    rows: list[str] = field(default_factory=lambda: list(DEFAULT_ROWS))
    episodes: int = 100
    num_envs: int = 8
    use_async: bool = False
    seed: int = 100_000
    action_horizon: int | None = None  # actions executed per chunk in the samplers section (null: the policy's Ta)
    latency_chunks: int = 100
    latency_warmup: int = 3
    latency_rounds: int = 1  # > 1: the rows' latency passes run after all success passes, interleaved in rounds
    threads: int = 1
    device: str = "cpu"  # cpu | cuda | auto: where the teacher and students run (latency is measured there)
    jit: bool = False  # run the teacher and students through frozen TorchScript traces (policies/traced.py)
    cost_repeats: int = 30  # interleaved timing rounds over the batch sizes when measuring the cost model
    cost_stat: str = "mean"  # per-call statistic the cost model keeps: mean (5% trimmed) | median
    cost_per_row: bool = True  # re-measure the cost model around each row's latency pass (num_envs > 1)
    cascade_quantile: float = 0.9
    merge: bool = True
    realtime_steps: int = 10_000
    realtime_hz: float = 50.0
    realtime_budget_ms: float = 100.0
    realtime_menu: list[str] = field(default_factory=lambda: list(DEFAULT_RT_MENU))
    realtime_mode: str = "guided"
    # async: AsyncExecutor (RTC, worker thread) | sync: RealtimePlanner on the control thread
    realtime_planner: str = "async"
    realtime_reference: str = REFERENCE_ROW
    samplers_reference: str | None = None  # the samplers table's ratio row (null: the reference row), run or merged
    realtime_execute_every: int | None = None
    realtime_max_delay: int | None = None
    realtime_lead: bool = False
    realtime_forecast: bool = False
    forecaster: str | None = None  # a parapolicy-forecast directory, for +forecast modes / realtime_forecast
    delay_values: list[int] = field(default_factory=lambda: [0, 1, 2, 4])
    delay_modes: list[str] = field(default_factory=lambda: ["naive", "frozen", "guided"])
    delay_sampler: str | None = None
    delay_episodes: int | None = None
    out_dir: str | None = None
    name: str | None = None
    readme: bool = False
    readme_path: str = "README.md"
    readme_assets: str = "videos/bench"
    progress: bool = True

    def __post_init__(self) -> None:
        from parapolicy.planners.rtc import RTC_MODES
        from parapolicy.policies.config import DEVICES
        from parapolicy.planners.menu import check_budget_ms, check_control_hz, parse_spec

        for name in ("episodes", "num_envs", "latency_chunks", "latency_rounds", "realtime_steps", "threads",
                     "cost_repeats"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        if self.latency_warmup < 0:
            raise ValueError(f"latency_warmup must be >= 0, got {self.latency_warmup}")
        ta = self.action_horizon
        if ta is not None and (isinstance(ta, bool) or not isinstance(ta, int) or ta < 1):
            raise ValueError(f"action_horizon must be null or an integer >= 1, got {ta!r}")
        if self.delay_episodes is not None and self.delay_episodes < 1:
            raise ValueError(f"delay_episodes must be null or >= 1, got {self.delay_episodes}")
        bad = [s for s in self.sections if s not in SECTIONS]
        if bad or not self.sections:
            raise ValueError(f"unknown section(s) {bad or '[]'}; allowed: {', '.join(SECTIONS)}")
        bad = [m for m in self.delay_modes if split_delay_mode(m) is None]
        if bad:
            raise ValueError(f"unknown delay mode(s) {bad}; allowed: {', '.join(RTC_MODES)}, each optionally "
                             f"with the suffixes +lead and/or +forecast")
        if self.forecaster is None and (self.realtime_forecast or any(
                split_delay_mode(m)[2] for m in self.delay_modes)):
            raise ValueError("+forecast delay modes and realtime_forecast=true need forecaster=<dir> "
                             "(parapolicy-forecast)")
        if self.forecaster is not None and not Path(self.forecaster).is_dir():
            raise FileNotFoundError(f"forecaster directory not found: {self.forecaster}")
        if len(set(self.delay_modes)) != len(self.delay_modes):
            raise ValueError(f"delay_modes must be unique, got {self.delay_modes}")
        if self.realtime_mode not in RTC_MODES:
            raise ValueError(f"unknown realtime_mode {self.realtime_mode!r}; allowed: {', '.join(RTC_MODES)}")
        check_budget_ms(self.realtime_budget_ms)
        if self.realtime_planner not in REALTIME_PLANNERS:
            raise ValueError(f"unknown realtime_planner {self.realtime_planner!r}; allowed: "
                             f"{', '.join(REALTIME_PLANNERS)}")
        if self.realtime_planner == "sync":
            asynchronous = [n for n, v in (("realtime_max_delay", self.realtime_max_delay is not None),
                                           ("realtime_lead", self.realtime_lead is True),
                                           ("realtime_forecast", self.realtime_forecast is True)) if v]
            if asynchronous:
                raise ValueError(f"{', '.join(asynchronous)} need{'s' if len(asynchronous) == 1 else ''} "
                                 f"realtime_planner=async (sync replans on the control thread, without delay)")
        s = self.realtime_execute_every
        if s is not None and (isinstance(s, bool) or not isinstance(s, int) or s < 1):
            raise ValueError(f"realtime_execute_every must be null or an integer >= 1, got {s!r}")
        if not isinstance(self.realtime_lead, bool):
            raise ValueError(f"realtime_lead must be true or false, got {self.realtime_lead!r}")
        md = self.realtime_max_delay
        if md is not None and (isinstance(md, bool) or not isinstance(md, int) or md < 1):
            raise ValueError(f"realtime_max_delay must be null or an integer >= 1 (control ticks), got {md!r}")
        check_control_hz(self.realtime_hz)
        if self.device not in DEVICES:
            raise ValueError(f"unknown device {self.device!r}; allowed: {', '.join(DEVICES)}")
        if self.cost_stat not in COST_STATS:
            raise ValueError(f"unknown cost_stat {self.cost_stat!r}; allowed: {', '.join(COST_STATS)}")
        if not 0 <= self.cascade_quantile <= 1:
            raise ValueError(f"cascade_quantile must be in [0, 1], got {self.cascade_quantile}")
        if "samplers" in self.sections and not self.rows:
            raise ValueError("rows is empty: give at least one sampler spec")
        if len(set(self.rows)) != len(self.rows):
            raise ValueError(f"rows must be unique, got {self.rows}")
        if self.samplers_reference is not None:
            parse_spec(self.samplers_reference)
        for spec in [*self.rows, *self.realtime_menu, *([self.delay_sampler] if self.delay_sampler else [])]:
            parse_spec(spec)
        if not Path(self.checkpoint).is_dir():
            raise FileNotFoundError(f"checkpoint directory not found: {self.checkpoint}")
        for s in self.students:
            if not Path(s).is_dir():
                raise FileNotFoundError(f"student checkpoint directory not found: {s}")


def reference_row(objective: str) -> str:
    """The teacher's full sequential chain, against which every ratio and budget is set."""
    return "flow100" if objective == "flow" else REFERENCE_ROW


def for_teacher(specs: Sequence[str], defaults: Sequence[str], objective: str) -> list[str]:
    """``specs`` as the run will use them: the DDPM ``defaults`` translated for a flow teacher
    (``FLOW_TOKENS`` in every dash-separated part, plus the flow-only ``FLOW_EXTRA`` items); anything
    the user wrote is kept as written."""
    if objective != "flow" or list(specs) != list(defaults):
        return list(specs)
    out: list[str] = []
    for spec in specs:
        flow = "-".join(FLOW_TOKENS.get(part, part) for part in spec.split("-"))
        out += [*FLOW_EXTRA[flow], flow] if flow in FLOW_EXTRA else [flow]
    return out


# ------------------------------------------------------------------------------------------ set-up
@dataclass
class Bench:
    """Everything the sections share: config, env, teacher, students, menu context, cost model."""

    cfg: BenchConfig
    env_cfg: EnvConfig
    policy: Any
    students: dict[int, Any]
    ctx: Any  # planners.menu.MenuContext
    cost_model: Any
    out_dir: Path
    name: str
    plan_overhead_ms: float = 0.0  # per-call planner work outside the sampler (encode, noise, unnormalize)
    student_paths: dict[int, str] = field(default_factory=dict)  # steps -> checkpoint path
    forecaster: Any = None  # planners.forecast.ObsForecaster, when cfg.forecaster is given
    notes: list[str] = field(default_factory=list)
    net_cost_models: dict[str, Any] = field(default_factory=dict)  # network fingerprint -> its CostModel

    @property
    def samplers_model(self) -> Any:
        """The ``ChunkModel`` the samplers section runs: the policy's, at ``action_horizon`` if given."""
        ta = self.cfg.action_horizon
        return self.ctx.model if ta is None else with_action_horizon(self.ctx.model, ta)

    @property
    def reference(self) -> str:
        """The teacher's full sequential chain (ratios, budget): ``reference_row`` of its objective."""
        return reference_row(self.policy.config.objective)

    def say(self, text: str) -> None:
        """Print a progress line (and flush)."""
        print(text, flush=True)


def calibration_observations(policy: Any, dataset: str | Path | list[Path], n: int = 256, *,
                             seed: int = 0) -> np.ndarray:
    """``n`` raw observation histories ``(n, To, Do)`` drawn (seeded) from demonstration file(s), for
    calibrating a cascade's threshold. Use a file the teacher was not trained on for a true hold-out
    (e.g. a ``parapolicy-collect`` run with another seed); the training demos work as a fallback."""
    import torch

    from parapolicy.policies import ChunkDataset
    from parapolicy.scripts.train import dataset_paths, load_training_demos

    cfg = policy.config
    demos = load_training_demos(dataset_paths(dataset), cfg.env_id)
    ds = ChunkDataset([e.obs for e in demos.episodes], [e.actions for e in demos.episodes],
                      obs_horizon=cfg.obs_horizon, pred_horizon=cfg.pred_horizon, action_horizon=cfg.action_horizon,
                      normalizer=policy.normalizer)
    if ds.obs_dim != cfg.obs_dim:
        raise ValueError(f"dataset {dataset} has observations of dim {ds.obs_dim}, the policy expects {cfg.obs_dim}")
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(ds), generator=g)[: int(n)]
    obs = ds.get_batch(idx)["obs"]  # (n, To, Do) normalized
    return policy.normalizer.unnormalize("obs", obs).cpu().numpy().astype(np.float32)


def setup(cfg: BenchConfig) -> Bench:
    """Load the teacher and students, calibration data, and measure the cost model."""
    import torch

    from parapolicy.policies import read_checkpoint_config
    from parapolicy.policies.trainer import resolve_device
    from parapolicy.scripts.distill import teacher_dataset
    from parapolicy.planners.menu import load_policy_forecaster, load_students, make_context, parse_spec
    from parapolicy.scripts.policy_checkpoint import load_for_env
    from parapolicy.scripts.train import dataset_paths

    torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)  # ValueError: one error line, like every bad input
    pcfg, _ = read_checkpoint_config(cfg.checkpoint)
    if pcfg.teacher is not None:
        raise UserError(f"{cfg.checkpoint} is a distilled student (teacher: {pcfg.teacher}); pass the teacher as "
                        "checkpoint=… and the student(s) as students=[…]")
    if pcfg.kind != "diffusion":
        raise UserError(f"{cfg.checkpoint} is a {pcfg.kind!r} policy; the planners benchmark needs a diffusion policy")
    objective = pcfg.objective
    cfg = copy.copy(cfg)
    cfg.rows = for_teacher(cfg.rows, DEFAULT_ROWS, objective)
    cfg.realtime_menu = for_teacher(cfg.realtime_menu, DEFAULT_RT_MENU, objective)
    if cfg.realtime_reference == REFERENCE_ROW:
        cfg.realtime_reference = reference_row(objective)
    env_cfg = cfg.env or EnvConfig(id=pcfg.env_id or "")
    probe = env_cfg.make()
    policy = load_for_env(cfg.checkpoint, probe, env_cfg.id).to(device)
    probe.close()
    if cfg.jit:
        policy.trace_inference()
    students = load_students(cfg.students, policy, device=device)  # traced too when the teacher is
    student_paths = {int(read_checkpoint_config(p)[0].num_inference_steps): str(p) for p in cfg.students}
    specs = [*cfg.rows, *cfg.realtime_menu]
    calib = None
    if any(parse_spec(s).kind == "cascade" for s in specs):
        data = dataset_paths(cfg.dataset) if cfg.dataset else teacher_dataset(cfg.checkpoint, env_cfg.id)
        calib = calibration_observations(policy, data, 256, seed=cfg.seed)
    ctx = make_context(policy, student=students, calibration_obs=calib, cascade_quantile=cfg.cascade_quantile,
                       seed=cfg.seed)
    if cfg.action_horizon is not None:
        with_action_horizon(ctx.model, cfg.action_horizon)  # fails here, before any row, if it does not fit
    cm = teacher_cost_model(policy, ctx.model, cfg)
    out = Path(cfg.out_dir) if cfg.out_dir else Path("runs/bench") / env_cfg.short
    name = cfg.name or f"planners-{env_cfg.short}"
    fc = load_policy_forecaster(cfg.forecaster, policy) if cfg.forecaster else None
    b = Bench(cfg=cfg, env_cfg=env_cfg, policy=policy, students=students, ctx=ctx, cost_model=cm, out_dir=out,
              name=name, student_paths=student_paths, forecaster=fc)
    validate(b)
    b.plan_overhead_ms = measure_plan_overhead(b)
    b.say(f"bench {env_cfg.id}: teacher {cfg.checkpoint} ({policy.num_parameters() / 1e6:.2f} M params), students "
          f"{sorted(students) or 'none'}; cost model batch-1 forward {cm.cost(1) * 1e3:.2f} ms, batch-16 "
          f"{cm.cost(16) * 1e3:.2f} ms, planner overhead {b.plan_overhead_ms:.2f} ms per call; torch threads "
          f"{torch.get_num_threads()} -> {out}")
    return b


def with_action_horizon(model: Any, action_horizon: int) -> Any:
    """``model`` (a ``ChunkModel``) executing ``action_horizon`` actions per chunk; one error line when
    they do not fit in the predicted chunk after its offset."""
    from parapolicy.planners.realtime import check_actions_per_chunk

    return dataclasses.replace(model, action_horizon=check_actions_per_chunk(model, action_horizon, "action_horizon"))


def measure_cost_model(denoiser: Any, x_shape: tuple[int, int], cond_dim: int, *, device: Any = "cpu",
                       rounds: int = 30, warmup: int = 3, stat: str = "mean",
                       batch_sizes: Sequence[int] = (1, 2, 4, 8, 16, 32)) -> Any:
    """A fresh ``CostModel`` measured in interleaved rounds (per round and batch size, a cold call after
    the other sizes' calls, then warm and steady ones after more at that size:
    ``cost_model.chain_timings``).

    Why not ``CostModel.measure`` (median): on a CPU shared with other jobs the per-call time is
    heavy-tailed (preemption), and a K-step chain costs about K × the *mean* call, not K × the median;
    interleaving spreads load bursts evenly over the batch sizes. ``stat``: ``mean`` (top 5% trimmed:
    one-off pauses) or ``median``. Both statistics of every kind of call are kept in ``meta``.
    """
    import statistics

    import torch

    from parapolicy.planners.cost_model import (CostModel, _real_timing, cache_key, chain_rounds, device_name,
                                                model_fingerprint)

    timing = _real_timing(denoiser, x_shape, cond_dim, 0.0, device)
    sizes = sorted({int(n) for n in batch_sizes})
    chain_rounds(timing, sizes, warmup)  # warm-up rounds, discarded
    cold, warm, steady = chain_rounds(timing, sizes, rounds)

    def trimmed(samples: dict[int, list[float]]) -> dict[int, float]:
        return {n: statistics.fmean(sorted(v)[: max(1, int(len(v) * 0.95))]) for n, v in samples.items()}

    def medians(samples: dict[int, list[float]]) -> dict[int, float]:
        return {n: statistics.median(v) for n, v in samples.items()}

    pick = trimmed if stat == "mean" else medians
    fp = model_fingerprint(denoiser, x_shape, cond_dim)
    return CostModel(latency_s=pick(cold), warm_latency_s=pick(warm), steady_latency_s=pick(steady),
                     key=cache_key(fp, device),
                     meta={"device": device_name(device), "threads": torch.get_num_threads(),
                           "torch": torch.__version__, "rounds": rounds, "warmup": warmup, "stat": stat,
                           "mean_trimmed_s": trimmed(cold), "median_s": medians(cold),
                           "warm_mean_trimmed_s": trimmed(warm), "warm_median_s": medians(warm),
                           "steady_mean_trimmed_s": trimmed(steady), "steady_median_s": medians(steady),
                           "load_avg": list(os.getloadavg()), "date": time.strftime("%Y-%m-%dT%H:%M:%S")})


def teacher_cost_model(policy: Any, model: Any, cfg: BenchConfig) -> Any:
    """Time the teacher's denoiser against batch size now (``cost_repeats`` rounds, ``cost_stat``)."""
    import torch

    cond_dim = int(policy.encode_obs(torch.zeros(1, model.obs_horizon, policy.config.obs_dim)).shape[-1])
    return measure_cost_model(policy.denoiser, (model.pred_horizon, model.action_dim), cond_dim,
                              device=model.device, rounds=cfg.cost_repeats, stat=cfg.cost_stat)


def split_delay_mode(spec: str) -> tuple[str, bool, bool] | None:
    """``"guided+lead+forecast"`` → ``("guided", True, True)``; ``"frozen"`` → ``("frozen", False, False)``;
    None if unknown (an RTC mode, then any of the suffixes ``+lead``, ``+forecast`` at most once each)."""
    from parapolicy.planners.rtc import RTC_MODES

    mode, *suffixes = str(spec).split("+")
    if mode not in RTC_MODES or any(s not in DELAY_SUFFIXES for s in suffixes) or len(set(suffixes)) < len(suffixes):
        return None
    return mode, "lead" in suffixes, "forecast" in suffixes


def validate(b: Bench) -> None:
    """Build every item the selected sections will use and check the delays, so a bad spec fails in
    seconds rather than after an hour of earlier rows."""
    from parapolicy.planners.menu import build_item, check_delay, default_spec

    cfg = b.cfg
    specs = []
    if "samplers" in cfg.sections:
        specs += [s for s in cfg.rows if s in usable(b, [s], "samplers", quiet=True)]
    if "realtime" in cfg.sections:
        specs += [s for s in cfg.realtime_menu if s in usable(b, [s], "realtime", quiet=True)]
        specs.append(b.reference)  # its predicted latency is what the budget is set against
    if "delay" in cfg.sections:
        specs.append(cfg.delay_sampler or default_spec(b.policy))
        modes = [split_delay_mode(spec) for spec in cfg.delay_modes]
        for d in cfg.delay_values:
            for _, lead, _ in modes:
                check_delay(d, b.ctx.model, lead=lead)
        if any(forecast for _, _, forecast in modes) and max(cfg.delay_values, default=0) > b.forecaster.max_delay:
            raise UserError(f"delay {max(cfg.delay_values)} is beyond the forecaster's max_delay="
                            f"{b.forecaster.max_delay}; train one for it (parapolicy-forecast "
                            f"max_delay={max(cfg.delay_values)})")
    for spec in dict.fromkeys(specs):
        build_item(spec, b.ctx)


def measure_plan_overhead(b: Bench, repeats: int = 30) -> float:
    """Median ms of one batch-1 ``plan_chunk`` around a free (zero-output) one-step sampler: the planner's
    fixed work per replan (observation encoding, noise, un-normalization), added to every prediction."""
    import dataclasses
    import statistics

    from parapolicy.planners.cost_model import _FreeDenoiser
    from parapolicy.planners.realtime import MenuItem, RealtimePlanner
    from parapolicy.planners.sequential import SequentialSampler

    model = dataclasses.replace(b.ctx.model, denoiser=_FreeDenoiser())
    item = MenuItem(name="free1", sampler=SequentialSampler(model.schedule, steps=1))
    planner = RealtimePlanner(model, [item], budget_ms=math.inf, fixed="free1", anytime=False)
    obs = np.zeros((1, model.obs_horizon, b.policy.config.obs_dim), np.float32)  # (1, To, Do)
    times = []
    for i in range(repeats + 5):
        plan = planner.plan_chunk(obs)
        if i >= 5:
            times.append(plan.latency_s - plan.result.wall_s)  # the sampler's own time is predicted separately
    return statistics.median(times) * 1e3


def usable(b: Bench, specs: Sequence[str], what: str, *, quiet: bool = False) -> list[str]:
    """The specs that can run here: those needing a student step count that was not given are dropped
    (with a note in the output and the JSON)."""
    from parapolicy.planners.menu import parse_spec

    keep, drop = [], []
    for s in specs:
        p = parse_spec(s)
        missing = p.needs_student and (not b.students or (p.student_steps is not None
                                                          and p.student_steps not in b.students))
        (drop if missing else keep).append(s)
    if drop and not quiet:
        have = ", ".join(f"student{k}" for k in sorted(b.students)) or "none"
        note = f"{what}: skipped {', '.join(drop)} (no such student checkpoint; students given: {have})"
        b.notes.append(note)
        b.say(note)
    return keep


def fixed_planner(b: Bench, item: Any) -> Any:
    """A synchronous planner that always runs ``item`` to completion (no deadline)."""
    from parapolicy.planners.realtime import RealtimePlanner

    return RealtimePlanner(b.samplers_model, [item], budget_ms=math.inf, cost_model=b.cost_model, fixed=item.name,
                           anytime=False, seed=b.cfg.seed)


def progress_bar(b: Bench, total: int, desc: str) -> tuple[Any, Callable[[int], None] | None]:
    if not b.cfg.progress:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="ep", dynamic_ncols=True, leave=False)
    return bar, lambda n: bar.update(n - bar.n)


def run_bench(cfg: BenchConfig) -> dict[str, Any]:
    """Run the selected sections and write the report; returns paths and section results."""
    from parapolicy.scripts.bench_delay import run_delay
    from parapolicy.scripts.bench_realtime import run_realtime
    from parapolicy.scripts.bench_report import write_report
    from parapolicy.scripts.bench_samplers import run_samplers

    b = setup(cfg)
    b.out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    if "samplers" in cfg.sections:
        results["samplers"] = run_samplers(b)
    if "realtime" in cfg.sections:
        results["realtime"] = run_realtime(b)
    if "delay" in cfg.sections:
        results["delay"] = run_delay(b)
    results["report"] = write_report(b)
    write_json_atomic(b.out_dir / "bench_config.json", {"config": asdict(cfg), "provenance": provenance(cfg.seed)})
    b.say(f"wrote {b.out_dir}/bench.md, {', '.join(sorted(results['report']['plots']))} plots"
          + ("; README spliced" if results["report"]["readme"] else ""))
    return results


@hydra_app("bench", BenchConfig)
def main(cfg: BenchConfig) -> None:
    """Console entry point."""
    run_bench(cfg)


if __name__ == "__main__":
    main()
