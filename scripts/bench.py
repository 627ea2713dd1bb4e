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
  the evaluation itself is that pass). The cost model is measured fresh at the start of the run
  (interleaved rounds, trimmed mean per call: see ``measure_cost_model``) and predicts each row at
  batch 1 (Picard with the depth it was seen to need, warm starts at each replan's start level) plus
  the planner's measured per-call overhead; it predicts an expected time, so the error is against the
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
variants), so one command line serves both objectives. Rows given explicitly are used as written.

``action_horizon`` (default: the policy's trained Ta) sets the actions executed per chunk in the
``samplers`` section, e.g. a Push-T model trained with Ta = 8 and deployed at Ta = 3; it is part of the
samplers table's run key, so rows at another Ta are not merged into it. (The real-time section has
``realtime_execute_every`` for the same purpose; the delay section keeps the policy's Ta.)

``device=cuda`` (or ``auto``) runs the teacher and students on the GPU: the cost model, overheads and
latencies are measured there (each sampler synchronizes before its chunk counts as done), the
environments stay on the CPU, and the device is part of the samplers table's run key and footnote.

``readme=true`` splices ``bench.md`` between ``<!-- bench:<name> -->`` and ``<!-- /bench:<name> -->`` in
``readme_path`` (``name`` defaults to ``planners-<env>``) and copies the PNGs to ``readme_assets``.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from parapolicy.scripts.common import EnvConfig, UserError, hydra_app, provenance, write_json_atomic

SECTIONS = ("samplers", "realtime", "delay")
DEFAULT_ROWS = ["ddpm100", "ddim10", "picard-ddpm100-p16", "picard-ddpm100-p16-look",
                "picard-ddpm100-p16-look-amortized", "picard-ddpm100-p16-amortized-student",
                "picard-ddpm100-p16-look-amortized-student", "picard-ddpm100-p16-tau0.3-look-amortized",
                "picard-ddpm100-p16-tau0.3-look-amortized-student", "student1", "student2", "warm-ddim10", "cascade"]
DEFAULT_RT_MENU = ["ddpm100", "picard-ddpm100-p16-look-amortized-student", "ddim10", "warm-ddim10", "cascade",
                   "student2", "student1"]
REFERENCE_ROW = "ddpm100"  # the DDPM default; ``reference_row`` gives the row for any teacher
#: a DDPM-default spec's sampler tokens and what they are for a flow-matching teacher
FLOW_TOKENS = {"ddpm100": "flow100", "ddim10": "flow10"}
COST_STATS = ("mean", "median")


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
    threads: int = 1
    device: str = "cpu"  # cpu | cuda | auto: where the teacher and students run (latency is measured there)
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

        for name in ("episodes", "num_envs", "latency_chunks", "realtime_steps", "threads", "cost_repeats"):
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
    (``FLOW_TOKENS`` in every dash-separated part); anything the user wrote is kept as written."""
    if objective != "flow" or list(specs) != list(defaults):
        return list(specs)
    return ["-".join(FLOW_TOKENS.get(part, part) for part in spec.split("-")) for spec in specs]


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
    students = load_students(cfg.students, policy, device=device)
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
    """``model`` (a ``ChunkModel``) executing ``action_horizon`` actions per chunk; ``UserError`` when
    they do not fit in the predicted chunk after its offset."""
    room = model.pred_horizon - model.action_offset
    if not 1 <= action_horizon <= room:
        raise UserError(f"action_horizon={action_horizon} does not fit the policy's chunk: H = "
                        f"{model.pred_horizon} predicted actions from offset {model.action_offset} leave room for "
                        f"1..{room}")
    return dataclasses.replace(model, action_horizon=int(action_horizon))


def measure_cost_model(denoiser: Any, x_shape: tuple[int, int], cond_dim: int, *, device: Any = "cpu",
                       rounds: int = 30, warmup: int = 3, stat: str = "mean",
                       batch_sizes: Sequence[int] = (1, 2, 4, 8, 16, 32)) -> Any:
    """A fresh ``CostModel`` measured in interleaved rounds (one call per batch size per round).

    Why not ``CostModel.measure`` (consecutive repeats, median): on a CPU shared with other jobs the
    per-call time is heavy-tailed (preemption), and a K-step chain costs about K × the *mean* call, not
    K × the median; interleaving spreads load bursts evenly over the batch sizes. ``stat``: ``mean``
    (top 5% trimmed: one-off pauses) or ``median``. Both statistics are kept in ``meta``.
    """
    import statistics

    import torch

    from parapolicy.planners.cost_model import CostModel, _real_timing, cache_key, device_name, model_fingerprint

    timing = _real_timing(denoiser, x_shape, cond_dim, 0.0, device)
    sizes = sorted({int(n) for n in batch_sizes})
    samples: dict[int, list[float]] = {n: [] for n in sizes}
    for r in range(warmup + rounds):
        for n in sizes:
            t = float(timing(n))
            if r >= warmup:
                samples[n].append(t)
    trimmed = {n: statistics.fmean(sorted(v)[: max(1, int(len(v) * 0.95))]) for n, v in samples.items()}
    medians = {n: statistics.median(v) for n, v in samples.items()}
    fp = model_fingerprint(denoiser, x_shape, cond_dim)
    return CostModel(latency_s=trimmed if stat == "mean" else medians, key=cache_key(fp, device),
                     meta={"device": device_name(device), "threads": torch.get_num_threads(),
                           "torch": torch.__version__, "rounds": rounds, "warmup": warmup, "stat": stat,
                           "mean_trimmed_s": trimmed, "median_s": medians, "load_avg": list(os.getloadavg()),
                           "date": time.strftime("%Y-%m-%dT%H:%M:%S")})


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


def _bar(b: Bench, total: int, desc: str) -> tuple[Any, Callable[[int], None] | None]:
    if not b.cfg.progress:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="ep", dynamic_ncols=True, leave=False)
    return bar, lambda n: bar.update(n - bar.n)


# ------------------------------------------------------------------------------------------ samplers
def latency_pass(b: Bench, item: Any) -> list[Any]:
    """Batch-1 closed-loop episodes on the bench seeds until ``latency_warmup + latency_chunks``
    replans: the replan records after the warm-up."""
    from parapolicy.planners.rollout import run_episode

    cfg = b.cfg
    planner = fixed_planner(b, item)
    need = cfg.latency_warmup + cfg.latency_chunks
    env = b.env_cfg.make()
    try:
        i = 0
        while len(planner.records) < need:
            left = need - len(planner.records)
            run_episode(env, planner, seed=cfg.seed + i, max_steps=left * planner.model.action_horizon)
            i += 1
    finally:
        env.close()
    return planner.records[cfg.latency_warmup:need]


def remeasure_cost(b: Bench) -> dict[int, float]:
    """Re-time the denoiser against batch size now (the CPU's speed drifts when other jobs share it)
    and return the per-call seconds; ``sampler_row`` averages a measurement taken just before and one
    just after its latency pass, so prediction and measurement see the same machine state."""
    return dict(teacher_cost_model(b.policy, b.ctx.model, b.cfg).latency_s)


def teacher_cost_model(policy: Any, model: Any, cfg: BenchConfig) -> Any:
    """Time the teacher's denoiser against batch size now (``cost_repeats`` rounds, ``cost_stat``)."""
    import torch

    cond_dim = int(policy.encode_obs(torch.zeros(1, model.obs_horizon, policy.config.obs_dim)).shape[-1])
    return measure_cost_model(policy.denoiser, (model.pred_horizon, model.action_dim), cond_dim,
                              device=model.device, rounds=cfg.cost_repeats, stat=cfg.cost_stat)


def measure_overheads(b: Bench, item: Any) -> None:
    """Per-pass non-network overhead of the item's plain samplers (on copies, so a free denoiser
    does not enter their depth history)."""
    from parapolicy.planners.cascade import CascadeSampler
    from parapolicy.planners.student_picard import StudentInitPicardSampler

    s = item.sampler
    parts = [s.student, s.teacher] if isinstance(s, CascadeSampler) else \
        [s.student, s.picard] if isinstance(s, StudentInitPicardSampler) else [s]
    m = b.ctx.model
    cond_dim = b.policy.config.obs_horizon * b.policy.config.obs_dim
    for p in parts:
        if p.name not in b.cost_model.overhead_s:
            b.cost_model.measure_overhead(copy.deepcopy(p), x_shape=(m.pred_horizon, m.action_dim), cond_dim=cond_dim,
                                          device=m.device)


def network_cost_model(b: Bench, denoiser: Any) -> Any:
    """The cost model of the network ``denoiser`` runs: the teacher's when the architecture is the same
    (a student distilled into the teacher's network) or ``denoiser`` is not one network (None, a
    student-draft router), else one measured for it now (a student with a cheaper network,
    ``parapolicy-distill student_net=…``), sharing the teacher's sampler overheads."""
    from parapolicy.planners.cost_model import is_network, model_fingerprint

    m = b.ctx.model
    cond_dim = b.policy.config.obs_horizon * b.policy.config.obs_dim
    shape = (m.pred_horizon, m.action_dim)
    fp = model_fingerprint(denoiser, shape, cond_dim) if is_network(denoiser) else None
    if fp is None or fp == model_fingerprint(b.policy.denoiser, shape, cond_dim):
        return b.cost_model
    if fp not in b.net_cost_models:
        cm = measure_cost_model(denoiser, shape, cond_dim, device=m.device, rounds=b.cfg.cost_repeats,
                                stat=b.cfg.cost_stat)
        cm.overhead_s = b.cost_model.overhead_s  # sampler arithmetic does not depend on the network
        b.net_cost_models[fp] = cm
    return b.net_cost_models[fp]


def predict_ms(b: Bench, item: Any, start_indices: Sequence[int] | None = None) -> float:
    """Predicted mean latency of one batch-1 replan with ``item`` (ms): the cost model's sampler
    prediction (composite samplers are the sum of their parts, a cascade's teacher weighted by its
    escalation rate; Picard uses the depth it was seen to need) plus the measured planner overhead per
    call. ``start_indices``: the start level of each timed replan (a warm start's first chunk of an
    episode starts cold at 0), averaged over; None: the item's own warm-start level."""
    from parapolicy.planners.cascade import CascadeSampler
    from parapolicy.planners.student_picard import StudentInitPicardSampler

    cm, s = b.cost_model, item.sampler
    if isinstance(s, CascadeSampler):
        sec = cm.predict(s.student, batch=s.n_samples) + s.escalation_rate * cm.predict(s.teacher, batch=1)
    elif isinstance(s, StudentInitPicardSampler):
        sec = cm.predict(s.student, batch=1) + cm.predict(s.picard, batch=1)
    else:
        starts = list(start_indices) if start_indices else [item.warm_start or 0]
        cm = network_cost_model(b, item.denoiser)
        sec = float(np.mean([cm.predict(s, batch=1, start_index=int(i)) for i in starts]))
    return sec * 1e3 + b.plan_overhead_ms


def sampler_row(b: Bench, spec: str) -> dict[str, Any]:
    """Evaluate one sampler spec: success on the bench seeds, batch-1 latency, nfe, depth, prediction."""
    from parapolicy.planners.cascade import CascadeSampler
    from parapolicy.planners.stats import latency_summary
    from parapolicy.planners.vector_eval import evaluate_vector, results_to_dicts, summarize_results
    from parapolicy.planners.menu import build_item

    cfg = b.cfg
    item = build_item(spec, b.ctx)
    planner = fixed_planner(b, item)
    bar, progress = _bar(b, cfg.episodes, spec)
    t0 = time.perf_counter()
    try:
        results = evaluate_vector(b.env_cfg.make, planner, episodes=cfg.episodes, num_envs=cfg.num_envs,
                                  seed=cfg.seed, use_async=cfg.use_async, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    eval_s = time.perf_counter() - t0
    escalation = item.sampler.escalation_rate if isinstance(item.sampler, CascadeSampler) else None
    batched = planner.summary()
    if cfg.cost_per_row and cfg.num_envs != 1:
        before = remeasure_cost(b)
    t1 = time.perf_counter()
    if cfg.num_envs == 1:
        recs = planner.records[cfg.latency_warmup:cfg.latency_warmup + cfg.latency_chunks] or planner.records
    else:
        recs = latency_pass(b, item)
    latency_s = time.perf_counter() - t1
    if cfg.cost_per_row and cfg.num_envs != 1:
        after = remeasure_cost(b)
        b.cost_model.latency_s = {n: (before[n] + after[n]) / 2 for n in before}
    lat = latency_summary([r.latency_s for r in recs])
    measure_overheads(b, item)
    pred = predict_ms(b, item, [r.start_index for r in recs])
    summary = summarize_results(results)
    return {
        "name": spec, "sampler": type(item.sampler).__name__, **summary,
        "nfe": float(np.mean([r.nfe for r in recs])), "depth": float(np.mean([r.depth for r in recs])),
        "depth_p50": float(np.median([r.depth for r in recs])),
        "converged_fraction": float(np.mean([r.converged for r in recs])),
        "latency_p50_ms": lat["p50_ms"], "latency_p99_ms": lat["p99_ms"], "latency_mean_ms": lat["mean_ms"],
        "latency_chunks": lat["count"], "predicted_ms": pred, "plan_overhead_ms": b.plan_overhead_ms,
        "cost_batch1_ms": network_cost_model(b, item.denoiser).cost(1) * 1e3,
        # the cost model predicts an expected (mean) time per call, so it is checked against the mean
        "prediction_error": (pred - lat["mean_ms"]) / lat["mean_ms"] if lat["mean_ms"] > 0 else None,
        "escalation_rate": escalation, "batched_eval": {"num_envs": cfg.num_envs, **batched},
        "eval_s": eval_s, "latency_pass_s": latency_s,
        "seeds": [cfg.seed, cfg.seed + cfg.episodes - 1], "episode_results": results_to_dicts(results),
        "provenance": provenance({"episodes": [cfg.seed, cfg.seed + cfg.episodes - 1], "planner": cfg.seed}),
        "load_avg": list(os.getloadavg()),
    }


def add_ratios(rows: list[dict[str, Any]], reference: str = REFERENCE_ROW) -> None:
    """Depth and p50-latency ratios against the ``reference`` row (None without one)."""
    ref = next((r for r in rows if r["name"] == reference), None)
    for r in rows:
        ok = ref is not None and ref.get("depth") and ref.get("latency_p50_ms")
        r["depth_ratio"] = r["depth"] / ref["depth"] if ok else None
        r["latency_ratio"] = r["latency_p50_ms"] / ref["latency_p50_ms"] if ok else None


def device_label(device: Any) -> str:
    """``cpu``, or ``cuda (<GPU name>)``: where a run's latencies were measured."""
    import torch

    from parapolicy.planners.cost_model import device_name

    dev = torch.device(device)
    return "cpu" if dev.type == "cpu" else f"{dev.type} ({device_name(dev)})"


def _same_run_key(b: Bench) -> dict[str, Any]:
    c = b.cfg
    return {"checkpoint": str(Path(c.checkpoint).resolve()), "env_id": b.env_cfg.id, "seed": c.seed,
            "episodes": c.episodes, "action_horizon": b.samplers_model.action_horizon,
            "device": device_label(b.ctx.model.device)}


def _earlier(b: Bench, path: Path, key: dict[str, Any], what: str,
             defaults: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The section JSON at ``path`` from an earlier run with the same ``key`` (``defaults`` fill keys an
    older file lacks), when ``merge`` is on; None otherwise (a file from another ``what`` is replaced)."""
    if not b.cfg.merge or not path.is_file():
        return None
    old = json.loads(path.read_text())
    if {**(defaults or {}), **old.get("key", {})} == key:
        return old
    b.say(f"{path.stem}: {path} is from another {what}; replacing it")
    return None


def run_samplers(b: Bench) -> dict[str, Any]:
    """The sampler table (merged with compatible rows from an earlier run when ``merge``)."""
    key = _same_run_key(b)
    path = b.out_dir / "samplers.json"
    # files from before the device option ran on the CPU
    old = _earlier(b, path, key, "checkpoint/env/seed/episodes/Ta/device", {"device": "cpu"})
    rows: dict[str, dict[str, Any]] = {r["name"]: r for r in old.get("rows", [])} if old else {}
    ref = b.cfg.samplers_reference
    if ref is not None and ref not in b.cfg.rows and ref not in rows:
        raise UserError(f"samplers_reference={ref} is neither one of rows {b.cfg.rows} nor a row of {path}")
    for spec in usable(b, b.cfg.rows, "samplers"):
        row = sampler_row(b, spec)
        rows[spec] = row
        b.say(_row_line(row))
        data = _samplers_data(b, key, rows)
        write_json_atomic(path, data)  # after every row: a long run keeps what it measured
    return _samplers_data(b, key, rows)


def _samplers_data(b: Bench, key: dict[str, Any], rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    order = {s: i for i, s in enumerate(for_teacher(DEFAULT_ROWS, DEFAULT_ROWS, b.policy.config.objective))}
    listed = sorted(rows.values(), key=lambda r: (order.get(r["name"], len(order)), r["name"]))
    reference = b.cfg.samplers_reference or b.reference
    add_ratios(listed, reference)
    return {"section": "samplers", "key": key, "env_id": b.env_cfg.id, "checkpoint": b.cfg.checkpoint,
            "reference": reference,
            "students": {f"student{k}": v for k, v in sorted(b.student_paths.items())},
            "cost_model": b.cost_model.to_dict(), "rows": listed, "notes": list(b.notes),
            "provenance": provenance({"episodes": [b.cfg.seed, b.cfg.seed + b.cfg.episodes - 1]})}


def _row_line(r: dict[str, Any]) -> str:
    rate = r.get("success_rate")
    head = f"{r['name']}: " + (f"success {rate:.3f} " if rate is not None else f"return {r['mean_return']:.3f} ")
    return (head + f"(n={r['episodes']}), nfe {r['nfe']:.1f}, depth {r['depth']:.1f}, p50 {r['latency_p50_ms']:.1f} ms "
            f"p99 {r['latency_p99_ms']:.1f} ms, predicted {r['predicted_ms']:.1f} ms; "
            f"{r['eval_s'] + r['latency_pass_s']:.0f} s")


# ------------------------------------------------------------------------------------------ real time
@dataclass
class PacedEpisode:
    """One wall-clock-paced episode."""

    seed: int
    steps: int
    ret: float
    success: bool | None
    max_coverage: float | None
    finished: bool  # ended by the task (not cut by the step limit)
    late_ticks: int
    act_ms: list[float]


def paced_episode(env: Any, policy: Any, *, seed: int, hz: float, max_steps: int) -> PacedEpisode:
    """Run one episode at ``hz`` on the wall clock. The first action (a synchronous plan) is taken
    before the clock starts; tick k's action is due one period after tick k starts; a late tick
    restarts the schedule (one hiccup counts once)."""
    period = 1.0 / hz
    obs, info = env.reset(seed=seed)
    policy.reset(seed=seed)
    action = policy.act(obs)
    ret, steps, late, acts = 0.0, 0, 0, []
    success = info.get("is_success") if "is_success" in info else None
    cover = float(info["coverage"]) if "coverage" in info else None
    finished = False
    tick_start = time.perf_counter()
    while True:
        obs, reward, term, trunc, info = env.step(action)
        steps += 1
        ret += float(reward)
        if "is_success" in info:
            success = bool(success) or bool(info["is_success"])
        if "coverage" in info:
            cover = max(cover or 0.0, float(info["coverage"]))
        if term or trunc:
            finished = True
            break
        if steps >= max_steps:
            break
        tick_start += period
        now = time.perf_counter()
        if now < tick_start:
            time.sleep(tick_start - now)
        t0 = time.perf_counter()
        action = policy.act(obs)
        done = time.perf_counter()
        acts.append((done - t0) * 1e3)
        if done > tick_start + period:
            late += 1
            tick_start = done - period  # the next tick starts now
    return PacedEpisode(seed=seed, steps=steps, ret=ret, success=success, max_coverage=cover, finished=finished,
                        late_ticks=late, act_ms=acts)


def _reference_success(ref_row: dict[str, Any] | None, seeds: set[int]) -> dict[str, Any] | None:
    if ref_row is None:
        return None
    hits = [e["success"] for e in ref_row.get("episode_results", []) if e["seed"] in seeds and e["success"] is not None]
    if not hits:
        return None
    from parapolicy.planners.stats import wilson_interval

    k = int(sum(hits))
    return {"name": ref_row["name"], "episodes": len(hits), "success_rate": k / len(hits),
            "success_ci95": list(wilson_interval(k, len(hits)))}


def run_realtime(b: Bench) -> dict[str, Any]:
    """The wall-clock real-time section."""
    from parapolicy.planners.stats import latency_summary, wilson_interval
    from parapolicy.planners.menu import build_item, build_planner, planner_statistics

    cfg = b.cfg
    menu = usable(b, cfg.realtime_menu, "realtime")
    if not menu:
        raise UserError("realtime_menu has nothing that can run without a student; add a teacher sampler")
    ex = build_planner(b.policy, planner="async", menu=menu, budget_ms=cfg.realtime_budget_ms,
                       control_hz=cfg.realtime_hz, rtc_mode=cfg.realtime_mode, student=b.students,
                       cost_model=b.cost_model, seed=cfg.seed, calibration_obs=b.ctx.calibration_obs,
                       execute_every=cfg.realtime_execute_every, max_delay=cfg.realtime_max_delay,
                       lead=cfg.realtime_lead, forecaster=b.forecaster if cfg.realtime_forecast else None)
    seq = build_item(b.reference, b.ctx)
    seq_pred = b.cost_model.predict(seq.sampler, batch=1) * 1e3
    env = b.env_cfg.make()
    eps: list[PacedEpisode] = []
    total = 0
    t0 = time.perf_counter()
    try:
        while total < cfg.realtime_steps:
            ep = paced_episode(env, ex, seed=cfg.seed + len(eps), hz=cfg.realtime_hz,
                               max_steps=cfg.realtime_steps - total)
            eps.append(ep)
            total += ep.steps
    finally:
        ex.close()
        env.close()
    wall = time.perf_counter() - t0
    stats = planner_statistics(ex)
    done = [e for e in eps if e.finished]
    flags = [e.success for e in done if e.success is not None]
    k = int(sum(flags))
    seeds = {e.seed for e in done}
    ref_row = _load_rows(b).get(cfg.realtime_reference)
    rec_lat = [r.latency_s for r in ex.planner.records]
    acts = [a for e in eps for a in e.act_ms]
    out = {
        "section": "realtime", "env_id": b.env_cfg.id, "checkpoint": cfg.checkpoint, "menu": menu,
        "control_hz": cfg.realtime_hz, "budget_ms": cfg.realtime_budget_ms, "rtc_mode": cfg.realtime_mode,
        "execute_every": ex.s, "action_horizon": b.ctx.model.action_horizon, "max_delay": ex.max_delay,
        "delay_limited": ex.delay_limited, "lead": ex.lead, "forecast": ex.forecaster is not None,
        "ticks": total, "episodes": len(eps), "finished_episodes": len(done),
        "missed_ticks": int(ex.misses), "late_ticks": int(sum(e.late_ticks for e in eps)),
        "replans": len(ex.planner.records), "chosen": stats["planner"].get("chosen", {}),
        "replan_latency": latency_summary(rec_lat), "act_latency_ms": {
            "p50": float(np.percentile(acts, 50)) if acts else None,
            "p99": float(np.percentile(acts, 99)) if acts else None, "max": float(max(acts)) if acts else None},
        "success_rate": k / len(flags) if flags else None,
        "success_ci95": list(wilson_interval(k, len(flags))) if flags else None,
        "mean_return": float(np.mean([e.ret for e in done])) if done else None,
        "mean_max_coverage": float(np.mean([e.max_coverage for e in done if e.max_coverage is not None]))
        if any(e.max_coverage is not None for e in done) else None,
        "reference": _reference_success(ref_row, seeds), "sequential_row": b.reference,
        "sequential_predicted_ms": seq_pred, "sequential_fits_budget": seq_pred <= cfg.realtime_budget_ms,
        "executor": stats, "wall_s": wall,
        "seeds": [cfg.seed, cfg.seed + len(eps) - 1], "latencies_ms": [x * 1e3 for x in rec_lat],
        # asynchronous chunks: episode, the tick it was requested at and the tick it was switched to
        "requests": [[r.episode, r.request_tick, r.ready_tick] for r in ex.records],
        "notes": list(b.notes), "provenance": provenance({"episodes": [cfg.seed, cfg.seed + len(eps) - 1]}),
        "load_avg": list(os.getloadavg()),
    }
    write_json_atomic(b.out_dir / "realtime.json", out)
    b.say(f"realtime: {total} ticks at {cfg.realtime_hz:g} Hz, budget {cfg.realtime_budget_ms:g} ms: missed "
          f"{out['missed_ticks']}, late {out['late_ticks']}, chosen {out['chosen']}, success "
          f"{out['success_rate']} over {len(done)} episodes; {wall:.0f} s")
    return out


# ------------------------------------------------------------------------------------------ delay
def run_delay(b: Bench) -> dict[str, Any]:
    """Success against simulated delay for each RTC mode (batch-1 episodes, same seeds)."""
    from parapolicy.planners.rollout import run_episode, summarize
    from parapolicy.planners.menu import build_planner, default_spec

    cfg = b.cfg  # delays, modes and the forecaster's reach were checked by validate()
    n = cfg.delay_episodes or cfg.episodes
    sampler = cfg.delay_sampler or default_spec(b.policy)
    key = {"checkpoint": str(Path(cfg.checkpoint).resolve()), "env_id": b.env_cfg.id, "sampler": sampler,
           "seed": cfg.seed, "episodes": n, "action_horizon": b.ctx.model.action_horizon}
    path = b.out_dir / "delay.json"
    old = _earlier(b, path, key, "checkpoint/env/sampler/seed/episodes/Ta")  # keep the modes not measured again
    curves: dict[str, list[dict[str, Any]]] = \
        {m: c for m, c in old["curves"].items() if m not in cfg.delay_modes} if old else {}
    prov = provenance({"episodes": [cfg.seed, cfg.seed + n - 1]})
    env = b.env_cfg.make()
    t0 = time.perf_counter()
    try:
        for spec in cfg.delay_modes:
            mode, lead, forecast = split_delay_mode(spec)
            curves[spec] = []
            for d in cfg.delay_values:
                t1 = time.perf_counter()
                ex = build_planner(b.policy, planner="async", menu=[sampler], delay=d, rtc_mode=mode,
                                   budget_ms=math.inf, student=b.students, cost_model=b.cost_model, seed=cfg.seed,
                                   calibration_obs=b.ctx.calibration_obs, lead=lead,
                                   forecaster=b.forecaster if forecast else None)
                recs = [run_episode(env, ex, seed=cfg.seed + i) for i in range(n)]
                s = summarize(recs)
                cont = ex.summary()
                chunks = cont["inferences"] + len(recs)  # switched-to chunks + each episode's synchronous first
                s.update(delay=int(d), mode=spec, lead=lead, forecast=forecast, provenance=prov,
                         wall_s=time.perf_counter() - t1,
                         late_chunks=int(sum(r.late for r in ex.records)),
                         chunks_per_100_ticks=100.0 * chunks / max(cont["ticks"], 1),
                         switch_jump_mean=cont["switch_jump_mean"], step_mean=cont["step_mean"],
                         switch_jump_ratio=cont["switch_jump_ratio"], episode_success=[r.success for r in recs])
                curves[spec].append(s)
                ratio = "n/a" if s["switch_jump_ratio"] is None else f"{s['switch_jump_ratio']:.2f}×"
                b.say(f"delay {spec} d={d}: success {s.get('success_rate')} (n={n}), action change at a chunk "
                      f"switch {ratio} that of other ticks, {s['chunks_per_100_ticks']:.1f} chunks per 100 "
                      f"ticks; {s['wall_s']:.0f} s")
    finally:
        env.close()
    out = {"section": "delay", "key": key, "env_id": b.env_cfg.id, "checkpoint": cfg.checkpoint, "sampler": sampler,
           "action_horizon": b.ctx.model.action_horizon, "episodes": n, "curves": curves,
           "wall_s": time.perf_counter() - t0, "seeds": [cfg.seed, cfg.seed + n - 1],
           "provenance": prov, "load_avg": list(os.getloadavg())}
    write_json_atomic(path, out)
    return out


DELAY_SUFFIXES = ("lead", "forecast")


def split_delay_mode(spec: str) -> tuple[str, bool, bool] | None:
    """``"guided+lead+forecast"`` → ``("guided", True, True)``; ``"frozen"`` → ``("frozen", False, False)``;
    None if unknown (an RTC mode, then any of the suffixes ``+lead``, ``+forecast`` at most once each)."""
    from parapolicy.planners.rtc import RTC_MODES

    mode, *suffixes = str(spec).split("+")
    if mode not in RTC_MODES or any(s not in DELAY_SUFFIXES for s in suffixes) or len(set(suffixes)) < len(suffixes):
        return None
    return mode, "lead" in suffixes, "forecast" in suffixes


# ------------------------------------------------------------------------------------------ report
def _load(out_dir: Path, section: str) -> dict[str, Any] | None:
    p = out_dir / f"{section}.json"
    return json.loads(p.read_text()) if p.is_file() else None


def _load_rows(b: Bench) -> dict[str, dict[str, Any]]:
    """Sampler rows saved for this checkpoint, env and seed (any episode count: rows are matched to
    other sections episode by episode through their seeds)."""
    data = _load(b.out_dir, "samplers")
    key = {k: v for k, v in _same_run_key(b).items() if k != "episodes"}
    if not data or {k: v for k, v in data.get("key", {}).items() if k != "episodes"} != key:
        return {}
    return {r["name"]: r for r in data["rows"]}


def _success_cell(r: dict[str, Any]) -> str | None:
    """"rate (CI)" — or the mean return for tasks without a success flag."""
    rate, ci = r.get("success_rate"), r.get("success_ci95")
    if rate is None:
        ret = r.get("mean_return")
        return None if ret is None else f"return {ret:.3g}"
    return f"{rate:.3f} ({ci[0]:.2f}–{ci[1]:.2f})" if ci else f"{rate:.3f}"


def row_label(name: str) -> str:
    """How a reference row reads in a table header: ``ddpm100`` → ``DDPM-100``, ``flow100`` → ``flow-100``,
    ``flow100-t0.8`` → ``flow-100 at T = 0.8``."""
    head, _, temp = name.partition("-t")
    for prefix, label in (("ddpm", "DDPM"), ("flow", "flow"), ("ddim", "DDIM")):
        if head.startswith(prefix) and head[len(prefix):].isdigit():
            at = f" at T = {temp}" if temp else ""
            return f"{label}-{head[len(prefix):]}{at}"
    return name


def _sequential(rt: dict[str, Any]) -> tuple[str, float]:
    """The real-time run's reference chain and its predicted ms (files before ``sequential_row``
    existed name the DDPM-100 keys)."""
    if "sequential_row" in rt:
        return rt["sequential_row"], rt["sequential_predicted_ms"]
    return REFERENCE_ROW, rt["ddpm100_predicted_ms"]


def _pct(v: float | None) -> str | None:
    return None if v is None else f"{v * 100:+.0f}%"


def _prov_line(prov: dict[str, Any], extra: str = "") -> str:
    return (f"<sub>{extra}commit `{str(prov.get('git_commit', '?'))[:10]}`, `{prov.get('command', '?')}`, "
            f"{prov.get('cpu', '?')}, torch threads {prov.get('torch_threads', '?')}, {prov.get('date', '?')}</sub>")


def samplers_markdown(data: dict[str, Any]) -> str:
    """The sampler table."""
    from parapolicy.scripts.report import markdown_table

    rows = []
    for r in data["rows"]:
        rows.append({**r, "success": _success_cell(r), "prediction_error": _pct(r.get("prediction_error")),
                     "nfe": round(r["nfe"], 1), "depth": round(r["depth"], 1),
                     "latency_p50_ms": round(r["latency_p50_ms"], 2), "latency_p99_ms": round(r["latency_p99_ms"], 2),
                     "latency_mean_ms": round(r["latency_mean_ms"], 2), "predicted_ms": round(r["predicted_ms"], 2)})
    ref = row_label(data.get("reference", REFERENCE_ROW))
    cols = [("name", "sampler"), ("success", "success (95% CI)"), ("episodes", "n"), ("mean_return", "return")]
    if any(r.get("mean_max_coverage") is not None for r in rows):
        cols.append(("mean_max_coverage", "max coverage"))
    cols += [("nfe", "nfe/chunk"), ("depth", "depth/chunk"), ("latency_p50_ms", "p50 ms"), ("latency_p99_ms", "p99 ms"),
             ("latency_mean_ms", "mean ms"), ("predicted_ms", "predicted ms"),
             ("prediction_error", "pred. error vs mean"),
             ("depth_ratio", f"depth ÷ {ref}"), ("latency_ratio", f"p50 ÷ {ref}")]
    if any(r.get("escalation_rate") is not None for r in rows):
        cols.append(("escalation_rate", "escalation"))
    k = data["key"]
    cmds = sorted({r["provenance"]["command"] for r in data["rows"]})
    commits = sorted({str(r["provenance"]["git_commit"])[:10] for r in data["rows"]})
    prov = data["provenance"]
    ta = f"Ta = {k['action_horizon']}, " if k.get("action_horizon") is not None else ""
    dev = k.get("device", "cpu")
    where = prov.get("cpu") if dev == "cpu" else f"{dev}, host CPU {prov.get('cpu')}"
    foot = (f"<sub>{ta}{k['episodes']} episodes per row on seeds {k['seed']}–{k['seed'] + k['episodes'] - 1}; latency "
            f"at batch 1 per chunk on {where} with {prov.get('torch_threads')} torch thread(s); "
            f"rows from commit(s) {', '.join(f'`{c}`' for c in commits)} by {'; '.join(f'`{c}`' for c in cmds)}</sub>")
    notes = "".join(f"\n\n<sub>{n}</sub>" for n in data.get("notes", []))
    return markdown_table(rows, cols) + "\n\n" + foot + notes


def realtime_markdown(rt: dict[str, Any]) -> str:
    """The real-time summary table."""
    from parapolicy.scripts.report import markdown_table

    ref = rt.get("reference")
    lat = rt["replan_latency"]
    seq_name, seq_ms = _sequential(rt)
    items = [
        ("control rate / budget per replan", f"{rt['control_hz']:g} Hz / {rt['budget_ms']:g} ms "
         f"({row_label(seq_name)} predicted {seq_ms:.0f} ms)"),
        *([("actions executed per chunk s (policy's Ta)", f"{rt['execute_every']} ({rt['action_horizon']})")]
          if rt.get("execute_every") is not None else []),
        *([("delay limit (chunk requests where it ruled out a better sampler)",
            f"{rt['max_delay']} ticks ({rt.get('delay_limited', 0)})")] if rt.get("max_delay") is not None else []),
        *([("request lead", "each chunk requested the expected delay early")] if rt.get("lead") else []),
        *([("forecast", "each chunk planned from the observations forecast for the tick it starts to act")]
          if rt.get("forecast") else []),
        ("control ticks (episodes finished)", f"{rt['ticks']} ({rt['finished_episodes']})"),
        ("missed ticks (no fresh action)", rt["missed_ticks"]),
        ("late ticks (action after deadline)", rt["late_ticks"]),
        ("replans; latency p50 / p99", f"{rt['replans']}; {lat['p50_ms']:.1f} / {lat['p99_ms']:.1f} ms"),
        ("chosen samplers", ", ".join(f"{k} {v}" for k, v in rt["chosen"].items())),
        ("success (95% CI)", _success_cell(rt) or "–"),
        (f"reference {ref['name']} on the same seeds" if ref else "reference",
         f"{_success_cell(ref)} (n={ref['episodes']})" if ref else "not run"),
    ]
    table = markdown_table([{"k": k, "v": v} for k, v in items], [("k", "real-time run"), ("v", "")])
    return table + "\n\n" + _prov_line(rt["provenance"], f"menu {', '.join(rt['menu'])}; RTC {rt['rtc_mode']}; ")


def delay_markdown(dl: dict[str, Any]) -> str:
    """Success against delay, one column per mode, and (when measured) the action change at chunk switches."""
    from parapolicy.scripts.report import markdown_table

    modes = list(dl["curves"])
    delays = sorted({p["delay"] for m in modes for p in dl["curves"][m]})

    def grid(cell: Any) -> list[dict[str, Any]]:  # one row per delay, one column per mode
        points = {(m, p["delay"]): p for m in modes for p in dl["curves"][m]}
        return [{"d": d, **{m: cell(points[m, d]) if (m, d) in points else None for m in modes}} for d in delays]

    cols = [("d", "delay d"), *[(m, m) for m in modes]]
    table = markdown_table(grid(_success_cell), cols)
    what = (f"{dl['sampler']}, Ta={dl['action_horizon']}, {dl['episodes']} episodes per point on seeds "
            f"{dl['seeds'][0]}–{dl['seeds'][1]}; ")
    jumps = grid(lambda p: None if p.get("switch_jump_ratio") is None else f"{p['switch_jump_ratio']:.2f}×")
    if any(r[m] is not None for r in jumps for m in modes):  # runs from before the metric lack it
        table += ("\n\nMean action change at the tick that switches to a new chunk, ÷ the mean change at "
                  "every other tick (1× = as smooth as within a chunk):\n\n" + markdown_table(jumps, cols))
    if any(p.get("lead") for m in modes for p in dl["curves"][m]):  # the compute a request lead costs
        rate = grid(lambda p: None if p.get("chunks_per_100_ticks") is None else f"{p['chunks_per_100_ticks']:.1f}")
        table += ("\n\nChunks switched to per 100 control ticks, each episode's first included (+lead: each chunk "
                  "is requested d ticks early, so it is left after max(d, Ta − d) actions; a chunk still being "
                  "computed when an episode ends is not counted):\n\n" + markdown_table(rate, cols))
    provs = {(str(q.get("git_commit"))[:10], q.get("command")): q
             for q in (p.get("provenance") for m in modes for p in dl["curves"][m]) if q}
    if len(provs) > 1:  # curves merged from several runs (merge=true)
        return table + "\n\n" + (f"<sub>{what}curves from commit(s) {', '.join(sorted({f'`{c}`' for c, _ in provs}))} "
                                   f"by {'; '.join(sorted({f'`{cmd}`' for _, cmd in provs}))}; "
                                   f"{dl['provenance'].get('cpu', '?')}, torch threads "
                                   f"{dl['provenance'].get('torch_threads', '?')}</sub>")
    return table + "\n\n" + _prov_line(dl["provenance"], what)


def make_plots(out_dir: Path, env: str) -> dict[str, Path]:
    """PNGs for every section JSON present in ``out_dir``."""
    from parapolicy.scripts.plots import delay_plot, pareto_plot, realtime_plot

    plots: dict[str, Path] = {}
    s = _load(out_dir, "samplers")
    if s:
        plots["pareto"] = pareto_plot(s["rows"], out_dir / "pareto.png",
                                      title=f"{env}: success vs p50 latency (batch 1)")
    rt = _load(out_dir, "realtime")
    if rt:
        plots["realtime"] = realtime_plot(rt["latencies_ms"], rt["chosen"], rt["budget_ms"], out_dir / "realtime.png",
                                          title=f"{env}: {rt['control_hz']:g} Hz, budget {rt['budget_ms']:g} ms")
    dl = _load(out_dir, "delay")
    if dl:
        plots["delay"] = delay_plot(dl["curves"], out_dir / "delay.png",
                                    title=f"{env}: success vs delay ({dl['sampler']})")
    return plots


def build_markdown(out_dir: Path, env: str, image_dir: str = ".", prefix: str = "") -> str:
    """``bench.md``: every section present, with its plot (image paths under ``image_dir``)."""
    parts = []
    img = {k: f"{image_dir.rstrip('/')}/{prefix}{k}.png" for k in ("pareto", "realtime", "delay")}
    s = _load(out_dir, "samplers")
    if s:
        ref = row_label(s.get("reference", REFERENCE_ROW))
        parts.append(f"**{env}: samplers** (ratios against sequential {ref} in the same run)\n\n"
                     + samplers_markdown(s) + f"\n\n![success vs latency]({img['pareto']})")
    rt = _load(out_dir, "realtime")
    if rt:
        parts.append(f"**{env}: real time**\n\n" + realtime_markdown(rt) + f"\n\n![real-time run]({img['realtime']})")
    dl = _load(out_dir, "delay")
    if dl:
        parts.append(f"**{env}: inference delay**\n\n" + delay_markdown(dl)
                     + f"\n\n![success vs delay]({img['delay']})")
    return "\n\n".join(parts) + "\n"


def write_report(b: Bench) -> dict[str, Any]:
    """Section markdown files, plots, ``bench.md`` and (``readme``) the README splice."""
    out = b.out_dir
    renderers = (("samplers", samplers_markdown), ("realtime", realtime_markdown), ("delay", delay_markdown))
    for section, render in renderers:
        data = _load(out, section)
        if data:
            _write_text(out / f"{section}.md", render(data) + "\n")
    plots = make_plots(out, b.env_cfg.short)
    md = build_markdown(out, b.env_cfg.short)
    _write_text(out / "bench.md", md)
    spliced = None
    if b.cfg.readme:
        spliced = splice(b, plots)
    return {"plots": {k: str(v) for k, v in plots.items()}, "markdown": str(out / "bench.md"), "readme": spliced}


def splice(b: Bench, plots: dict[str, Path]) -> bool:
    """Copy the plots next to the README and splice ``bench.md`` between the ``bench:<name>`` markers."""
    from parapolicy.scripts.report import splice_readme

    readme = Path(b.cfg.readme_path)
    if not readme.is_file():
        raise FileNotFoundError(f"readme_path {readme} not found")
    assets = readme.parent / b.cfg.readme_assets
    assets.mkdir(parents=True, exist_ok=True)
    prefix = f"{b.name}-"
    for key, p in plots.items():
        shutil.copyfile(p, assets / f"{prefix}{key}.png")
    text = build_markdown(b.out_dir, b.env_cfg.short, image_dir=b.cfg.readme_assets, prefix=prefix)
    ok = splice_readme(readme, b.name, text)
    if not ok:
        b.say(f"README: no <!-- bench:{b.name} --> … <!-- /bench:{b.name} --> markers in {readme}; not spliced")
    return ok


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def run_bench(cfg: BenchConfig) -> dict[str, Any]:
    """Run the selected sections and write the report; returns paths and section results."""
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
