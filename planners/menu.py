"""Build control-loop planners from plain config values: a small menu-spec language plus ``build_planner``.

A *menu* is a list of sampler specs, best quality first. Each spec is one string:

=====================================================  =================================================
``ddpm<K>`` / ``ddim<K>`` / ``flow<K>``                 sequential sampler with K steps (``ddpm100``)
``flow<K>-rho<ρ>``                                      flow Euler on times (1 - k/K)^ρ: ρ > 1 packs the
                                                        steps toward the data end (``flow20-rho2``)
``flow<K>[-rho<ρ>]-ab2``                                 the same grid with Adams–Bashforth 2, a second-order
                                                        solver at one call per step (``flow6-rho2.5-ab2``)
``warm-<sched><K>[-s<i>]``                              warm start: the previous chunk, shifted and
                                                        re-noised to level index i (default K // 2)
``warm-student[<N>][-s<i>]``                            the same warm start into a student's N levels
                                                        (student2: one call from its middle level)
``picard-<sched><K>-p<P>[-tau<τ>]``                     ParaDiGMS Picard iteration, window P, tol τ (0.1)
``picard-<sched><K>-p<P>[-tau<τ>]-look``                … re-guessing the levels ahead of the window
                                                        toward its newest x0 estimate after each pass
``picard-<sched><K>-p<P>[-tau<τ>][-look]-amortized``     … initialised toward the previous chunk (warm)
``picard-<…>[-look]-amortized-student[N]``              … initialised toward a student's x0 estimate
``student[<N>]``                                        a distilled N-step student (default: fewest steps)
``cascade[-student<N>][-<sched><K>]``                   student first, escalate uncertain rows to the
                                                        teacher sampler (default: the policy's own)
``draft-student[<N>]-<sched><K>[-rho<ρ>]``              the student's steps down to its last middle
                                                        level, then K teacher steps from there
                                                        (flow, or ddim on a DDPM model)
``draft-student[<N>]-flow<K>[-rho<ρ>]-at<t>``             … handing over at flow time t instead: the
                                                        student's levels above t, its step down to t,
                                                        then K teacher steps (``draft-student1-flow1-at0.05``)
``<any of the above but cascade>-t<T>``                 the same item with its initial noise drawn from
                                                        N(0, T²·I) (``student2-t0.8``; default T = 1)
=====================================================  =================================================

``build_planner(policy, planner=…, menu=…, budget_ms=…, control_hz=…, delay=…, rtc_mode=…, student=…)``
turns a trained ``DiffusionPolicy`` into a ``Policy`` (``reset``/``act``):

* ``chunked``  — the first menu item, synchronous, no deadline (the plain chunked baseline);
* ``realtime`` — ``RealtimePlanner``: every Ta actions the best item predicted to fit the budget;
* ``async``    — ``AsyncExecutor`` around that planner (real-time chunking): ``delay`` d ticks
  simulated (deterministic) or, with ``delay=None``, a wall-clock worker thread at ``control_hz``.

``planner_statistics(p)`` returns the planner's statistics as one JSON-able dict and ``status_text(p)``
a one-line label of the last replan (for video frames). Everything a user can
get wrong (unknown spec, Picard window < 1, missing student, budget ≤ 0 or NaN, infeasible delay)
raises ``ValueError`` with one line that says what is allowed.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from parapolicy.policies.schedules import FlowSchedule

from .async_executor import AsyncExecutor
from .cascade import CascadeSampler, calibrate
from .cost_model import CostModel
from .picard import PicardSampler
from .realtime import ChunkModel, MenuItem, RealtimePlanner, SamplerSpec, check_actions_per_chunk
from .rtc import RTC_MODES
from .sequential import SequentialSampler
from .student_draft import LevelRoutedDenoiser, draft_sampler, draft_sampler_at, finish_levels
from .student_picard import StudentInitPicardSampler

PLANNERS = ("chunked", "realtime", "async")
SCHEDULE_NAMES = ("ddpm", "ddim", "flow")
ALLOWED_FORMS = ("ddpm<K> | ddim<K> | flow<K>[-rho<r>][-ab2] | warm-<sched><K>[-s<i>] | warm-student[<N>][-s<i>] | "
                 "picard-<sched><K>-p<P>[-tau<t>][-look]"
                 "[-amortized[-student[<N>]]] | student[<N>] | cascade[-student<N>][-<sched><K>] | "
                 "draft-student[<N>]-<ddim|flow><K>[-rho<r>] | draft-student[<N>]-flow<K>[-rho<r>]-at<t>, "
                 "each but cascade with an optional -t<temperature> suffix")

_SEQ = re.compile(r"^(ddpm|ddim|flow)(\d+)$")
_STUDENT = re.compile(r"^student(\d*)$")
_TEMP = re.compile(r"^t(\d+(?:\.\d*)?|\.\d+)$")
_RHO = re.compile(r"^rho(\d+(?:\.\d*)?|\.\d+)$")
_AT = re.compile(r"^at(\d+(?:\.\d*)?|\.\d+)$")


# ------------------------------------------------------------------------------------------ parsing
@dataclass(frozen=True)
class MenuSpec:
    """One parsed menu item.

    ``kind``: sequential | picard | student | cascade | draft. ``schedule``/``steps``: the teacher sampler
    (sequential, picard, warm; a cascade's or a draft's teacher as ``teacher``). ``warm_start``: start level index
    (-1: the default K // 2). ``amortized``: None | "warm" | "student". ``student_steps``: which
    student (None: the one with the fewest steps). ``temperature``: scale of the initial noise.
    ``time_power``: ρ of a flow sampler's time grid (1: uniform). ``solver``: a sequential flow
    sampler's ODE solver, euler or ab2 (Adams–Bashforth 2). ``handoff``: a draft's handoff flow time
    (None: the student's last middle level).
    """

    text: str
    kind: str
    schedule: str | None = None
    steps: int | None = None
    window: int | None = None
    tol: float = 0.1
    lookahead: bool = False
    warm_start: int | None = None
    amortized: str | None = None
    student_steps: int | None = None
    teacher: "MenuSpec | None" = None
    temperature: float = 1.0
    time_power: float = 1.0
    solver: str = "euler"
    handoff: float | None = None

    @property
    def needs_student(self) -> bool:
        """Does building this item need a distilled student?"""
        return self.kind in ("student", "cascade", "draft") or self.amortized == "student"


def _bad(text: str, why: str) -> ValueError:
    return ValueError(f"bad sampler spec {text!r}: {why}; allowed forms: {ALLOWED_FORMS}")


def _seq_token(text: str, token: str) -> tuple[str, int]:
    m = _SEQ.match(token)
    if not m:
        raise _bad(text, f"expected <sched><K> with sched in {', '.join(SCHEDULE_NAMES)} (e.g. ddim10), got {token!r}")
    steps = int(m.group(2))
    if steps < 1:
        raise _bad(text, "the step count K must be >= 1")
    return m.group(1), steps


def _grid_power(text: str, sched: str, rest: list[str], after: str) -> float:
    """ρ of the optional ``-rho<ρ>`` suffix ``rest`` after a flow ``<sched><K>`` (1 without one)."""
    rho = _RHO.match(rest[0]) if len(rest) == 1 and sched == "flow" else None
    if rest and rho is None:
        raise _bad(text, f"unexpected suffix {'-'.join(rest)!r} after {after}")
    power = float(rho.group(1)) if rho else 1.0
    if not power > 0:
        raise _bad(text, f"the grid's time power rho must be a number > 0, got {rho.group(1)}")
    return power


def _student_token(text: str, token: str) -> int | None:
    m = _STUDENT.match(token)
    if not m:
        raise _bad(text, f"expected student or student<N>, got {token!r}")
    if not m.group(1):
        return None
    n = int(m.group(1))
    if n < 1:
        raise _bad(text, "a student has at least 1 step")
    return n


def parse_spec(text: Any) -> MenuSpec:
    """Parse one menu spec string (see the module docstring); ``ValueError`` lists the allowed forms."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"a sampler spec must be a non-empty string, got {text!r}; allowed forms: {ALLOWED_FORMS}")
    text = text.strip()
    tokens = text.lower().split("-")
    m = _TEMP.match(tokens[-1]) if len(tokens) > 1 else None
    if m:
        temperature = float(m.group(1))
        if not math.isfinite(temperature) or temperature <= 0:
            raise _bad(text, f"the temperature must be a number > 0, got {m.group(1)}")
        spec = parse_spec("-".join(text.split("-")[:-1]))
        if spec.temperature != 1.0:
            raise _bad(text, "give at most one -t<temperature> suffix")
        if spec.kind == "cascade":
            raise _bad(text, "a cascade samples at temperature 1 (its uncertainty compares unit-noise samples)")
        return dataclasses.replace(spec, text=text, temperature=temperature)
    head = tokens[0]
    if _SEQ.match(head):
        sched, steps = _seq_token(text, head)
        rest, solver = tokens[1:], "euler"
        if rest and rest[-1] == "ab2":
            if sched != "flow":
                raise _bad(text, "the ab2 solver integrates a flow model's velocity (flow<K>[-rho<r>]-ab2)")
            rest, solver = rest[:-1], "ab2"
        power = _grid_power(text, sched, rest, "a sequential sampler")
        return MenuSpec(text=text, kind="sequential", schedule=sched, steps=steps, time_power=power, solver=solver)
    if head == "warm":
        return _parse_warm(text, tokens[1:])
    if head == "picard":
        return _parse_picard(text, tokens[1:])
    if _STUDENT.match(head):
        if len(tokens) > 1:
            raise _bad(text, f"unexpected suffix {'-'.join(tokens[1:])!r} after a student")
        return MenuSpec(text=text, kind="student", student_steps=_student_token(text, head))
    if head == "cascade":
        return _parse_cascade(text, tokens[1:])
    if head == "draft":
        return _parse_draft(text, tokens[1:])
    raise _bad(text, f"unknown sampler name {head!r}")


def _parse_warm(text: str, rest: list[str]) -> MenuSpec:
    if not rest:
        raise _bad(text, "warm needs a sampler, e.g. warm-ddim10")
    student = _STUDENT.match(rest[0])
    sched, steps = (None, None) if student else _seq_token(text, rest[0])
    start = -1
    if len(rest) == 2:
        m = re.match(r"^s(\d+)$", rest[1])
        if not m:
            raise _bad(text, f"expected s<i> (start level index), got {rest[1]!r}")
        start = int(m.group(1))
        if steps is not None and not 0 <= start < steps:
            raise _bad(text, f"the warm start level index must be in [0, {steps - 1}], got {start}")
    elif len(rest) > 2:
        raise _bad(text, f"unexpected suffix {'-'.join(rest[2:])!r}")
    if student:  # the level index is checked against the student's steps when the item is built
        return MenuSpec(text=text, kind="student", student_steps=_student_token(text, rest[0]), warm_start=start)
    return MenuSpec(text=text, kind="sequential", schedule=sched, steps=steps, warm_start=start)


def _parse_picard(text: str, rest: list[str]) -> MenuSpec:
    if len(rest) < 2:
        raise _bad(text, "Picard needs a sampler and a window, e.g. picard-ddpm100-p16")
    sched, steps = _seq_token(text, rest[0])
    m = re.match(r"^p(\d+)$", rest[1])
    if not m:
        raise _bad(text, f"expected the Picard window p<P> (an integer >= 1), got {rest[1]!r}")
    window = int(m.group(1))
    if window < 1:
        raise ValueError(f"bad sampler spec {text!r}: Picard window must be an integer >= 1, got {window}")
    tol, amortized, student_steps = 0.1, None, None
    i = 2
    if i < len(rest) and rest[i].startswith("tau"):
        try:
            tol = float(rest[i][3:])
        except ValueError:
            raise _bad(text, f"expected tau<number>, got {rest[i]!r}") from None
        if not math.isfinite(tol) or tol < 0:
            raise _bad(text, f"Picard tolerance must be a finite number >= 0, got {tol}")
        i += 1
    lookahead = i < len(rest) and rest[i] == "look"
    i += int(lookahead)
    if i < len(rest):
        if rest[i] != "amortized":
            raise _bad(text, f"unexpected {rest[i]!r} (expected tau<t>, look or amortized)")
        amortized = "warm"
        i += 1
        if i < len(rest):
            student_steps = _student_token(text, rest[i])
            amortized = "student"
            i += 1
    if i < len(rest):
        raise _bad(text, f"unexpected suffix {'-'.join(rest[i:])!r}")
    return MenuSpec(text=text, kind="picard", schedule=sched, steps=steps, window=window, tol=tol,
                    lookahead=lookahead, amortized=amortized, student_steps=student_steps)


def _parse_cascade(text: str, rest: list[str]) -> MenuSpec:
    student_steps, teacher = None, None
    i = 0
    if i < len(rest) and _STUDENT.match(rest[i]):
        student_steps = _student_token(text, rest[i])
        i += 1
    if i < len(rest):
        sched, steps = _seq_token(text, rest[i])
        teacher = MenuSpec(text=rest[i], kind="sequential", schedule=sched, steps=steps)
        i += 1
    if i < len(rest):
        raise _bad(text, f"unexpected suffix {'-'.join(rest[i:])!r}")
    return MenuSpec(text=text, kind="cascade", student_steps=student_steps, teacher=teacher)


def _parse_draft(text: str, rest: list[str]) -> MenuSpec:
    if len(rest) < 2 or not _STUDENT.match(rest[0]):
        raise _bad(text, "a draft needs a student and the teacher's finish, e.g. draft-student2-flow4-rho2")
    student_steps = _student_token(text, rest[0])
    sched, steps = _seq_token(text, rest[1])
    if sched == "ddpm":
        raise _bad(text, "the teacher's finish must be deterministic: flow<K> or ddim<K>")
    handoff = None
    m = _AT.match(rest[-1]) if len(rest) > 2 else None
    if m:
        if sched != "flow":
            raise _bad(text, "a handoff time -at<t> is a flow time: the finish must be flow<K>")
        handoff = float(m.group(1))
        if not 0 < handoff < 1:
            raise _bad(text, f"the handoff time must lie in (0, 1), got {m.group(1)}")
        rest = rest[:-1]
    power = _grid_power(text, sched, rest[2:], "the teacher's finish (a flow finish takes -rho<ρ>)")
    teacher = MenuSpec(text=rest[1], kind="sequential", schedule=sched, steps=steps, time_power=power)
    return MenuSpec(text=text, kind="draft", student_steps=student_steps, teacher=teacher, handoff=handoff)


# ------------------------------------------------------------------------------------------ students
def _check_student(student: Any, teacher: Any) -> None:
    cfg, tcfg = student.config, teacher.config
    if getattr(cfg, "teacher", None) is None:
        raise ValueError("a student must be a distilled checkpoint (its config records a teacher); "
                         "this one records none")
    if (cfg.obs_dim, cfg.action_dim, cfg.obs_horizon, cfg.pred_horizon) != \
            (tcfg.obs_dim, tcfg.action_dim, tcfg.obs_horizon, tcfg.pred_horizon):
        raise ValueError(f"student (Do={cfg.obs_dim}, Da={cfg.action_dim}, To={cfg.obs_horizon}, "
                         f"H={cfg.pred_horizon}) does not fit the teacher (Do={tcfg.obs_dim}, Da={tcfg.action_dim}, "
                         f"To={tcfg.obs_horizon}, H={tcfg.pred_horizon})")
    a, b = student.normalizer.state_dict(), teacher.normalizer.state_dict()
    if _canon(a) != _canon(b):
        raise ValueError(f"student (teacher {cfg.teacher}) was distilled with other normalizer statistics than "
                         "this teacher: pass the student of this teacher")


def _canon(obj: Any) -> Any:
    """Normalizer state as nested plain lists/dicts for comparison."""
    if isinstance(obj, Mapping):
        return {k: _canon(v) for k, v in obj.items()}
    if isinstance(obj, (Tensor, np.ndarray)):
        return np.round(np.asarray(obj, dtype=np.float64), 6).tolist()
    if isinstance(obj, (list, tuple)):
        return [_canon(v) for v in obj]
    return obj


def students_by_steps(student: Any, teacher: Any) -> dict[int, Any]:
    """Normalize the ``student`` argument (None, one policy, a list, or a {steps: policy} mapping)
    into ``{steps: student}``, checking each fits ``teacher``."""
    if student is None:
        return {}
    items = list(student.values()) if isinstance(student, Mapping) else \
        list(student) if isinstance(student, (list, tuple)) else [student]
    out: dict[int, Any] = {}
    for s in items:
        _check_student(s, teacher)
        n = int(s.config.num_inference_steps)
        if n in out:
            raise ValueError(f"two students with {n} step(s); give one per step count")
        out[n] = s
    return out


def load_students(paths: Sequence[str | Path], teacher: Any, *, device: str | torch.device = "cpu") -> dict[int, Any]:
    """Load student checkpoints and check they belong to ``teacher``: ``{steps: student}``. Students of
    a traced teacher (``trace_inference``) are traced too."""
    from parapolicy.policies import load_policy

    loaded = []
    for p in paths:
        if not Path(p).is_dir():
            raise FileNotFoundError(f"student checkpoint directory not found: {p}")
        s = load_policy(p, expect_env_id=teacher.config.env_id, device=device)
        if s.config.teacher is None:
            raise ValueError(f"{p} is not a distilled student (its config records no teacher)")
        loaded.append(s.trace_inference() if getattr(teacher, "traced", False) else s)
    return students_by_steps(loaded, teacher)


def _pick_student(students: Mapping[int, Any], spec: MenuSpec, n: int | None) -> Any:
    if not students:
        raise ValueError(f"menu item {spec.text!r} needs a distilled student: pass student=<checkpoint> "
                         "(make one with parapolicy-distill)")
    if n is None:
        return students[min(students)]
    if n not in students:
        raise ValueError(f"menu item {spec.text!r} needs a {n}-step student; available: "
                         f"{', '.join(f'student{k}' for k in sorted(students))}")
    return students[n]


# ------------------------------------------------------------------------------------------ menu
@dataclass
class MenuContext:
    """What building menu items needs: the teacher, its ChunkModel, students, cascade calibration."""

    policy: Any
    model: ChunkModel
    students: dict[int, Any]
    calibration_obs: np.ndarray | None = None  # (N, To, Do) raw held-out observation histories
    cascade_quantile: float = 0.9
    cascade_samples: int = 4
    seed: int = 0


def default_spec(policy: Any) -> str:
    """The policy's own sampler as a spec (e.g. ``ddim10``)."""
    cfg = policy.config
    return f"{cfg.sampler}{cfg.num_inference_steps}"


def _check_steps(spec: MenuSpec, policy: Any) -> None:
    cfg = policy.config
    if spec.schedule in ("ddpm", "ddim") and spec.steps is not None and spec.steps > cfg.num_train_steps:
        raise ValueError(f"menu item {spec.text!r}: {spec.schedule} can take at most num_train_steps = "
                         f"{cfg.num_train_steps} steps, got {spec.steps}")


def _teacher_item(spec: MenuSpec, ctx: MenuContext) -> MenuItem:
    """Sequential / warm / Picard(-warm-amortized) items on the teacher's network."""
    _check_steps(spec, ctx.policy)
    if spec.kind == "picard":
        ss = SamplerSpec(kind="picard", steps=spec.steps, schedule=spec.schedule, window=spec.window,
                         tol=spec.tol, lookahead=spec.lookahead, amortized=spec.amortized == "warm",
                         name=spec.text)
    else:
        start = None if spec.warm_start is None else (spec.steps // 2 if spec.warm_start < 0 else spec.warm_start)
        ss = SamplerSpec(kind="sequential", steps=spec.steps, schedule=spec.schedule, warm_start=start,
                         time_power=spec.time_power, solver=spec.solver, name=spec.text)
    return ss.build(ctx.model)


def _student_sampler(student: Any, name: str) -> SequentialSampler:
    return SequentialSampler(student.schedule, student.timesteps, name=name)


def _cascade_item(spec: MenuSpec, ctx: MenuContext) -> MenuItem:
    if getattr(ctx.policy.config, "teacher", None) is not None:
        t = ctx.policy.config.teacher
        where = "exists" if Path(t).exists() else "is missing"
        raise ValueError(f"menu item {spec.text!r} needs the teacher, but the policy given is itself a distilled "
                         f"student (its teacher {t} {where}): pass the teacher checkpoint and student=<this one>")
    student = _pick_student(ctx.students, spec, spec.student_steps)
    tspec = spec.teacher or parse_spec(default_spec(ctx.policy))
    teacher = _teacher_item(tspec, ctx).sampler
    ssampler = _student_sampler(student, f"student{student.config.num_inference_steps}")
    gen = torch.Generator().manual_seed(ctx.seed)
    cas = CascadeSampler(ssampler, student.denoiser, teacher, n_samples=ctx.cascade_samples,
                         uncertainty="spread", generator=gen, name=spec.text)
    cas.threshold = _calibrated_threshold(cas, student, ctx)
    return MenuItem(name=spec.text, sampler=cas)


def _draft_item(spec: MenuSpec, ctx: MenuContext) -> MenuItem:
    """The student's steps down to its last middle level, the teacher's finish from there."""
    student = _pick_student(ctx.students, spec, spec.student_steps)
    n = int(student.config.num_inference_steps)
    if spec.handoff is not None:
        if not isinstance(student.schedule, FlowSchedule):
            raise ValueError(f"menu item {spec.text!r}: a handoff time -at<t> needs a flow model")
        tail = spec.teacher
        finish = finish_levels(student.schedule, torch.tensor(spec.handoff), tail.steps, tail.time_power)
        router = LevelRoutedDenoiser(student.denoiser, ctx.model.denoiser, spec.handoff)
        sampler = draft_sampler_at(student.schedule, student.timesteps, finish, name=spec.text)
        return MenuItem(name=spec.text, sampler=sampler, denoiser=router)
    if n < 2:
        raise ValueError(f"menu item {spec.text!r} needs a student with at least 2 steps (a middle level to hand "
                         f"over at); the {n}-step student has none")
    sch, ts, tail = student.schedule, student.timesteps, spec.teacher
    if (tail.schedule == "flow") != isinstance(sch, FlowSchedule):
        own = "flow" if isinstance(sch, FlowSchedule) else "ddim"
        raise ValueError(f"menu item {spec.text!r}: the teacher's finish must run the model's own chain "
                         f"({own}<K> here)")
    finish = finish_levels(sch, ts[n - 1], tail.steps, tail.time_power)
    router = LevelRoutedDenoiser(student.denoiser, ctx.model.denoiser, float(ts[n - 1]))
    return MenuItem(name=spec.text, sampler=draft_sampler(sch, ts, n - 1, finish, name=spec.text), denoiser=router)


def _calibrated_threshold(cas: CascadeSampler, student: Any, ctx: MenuContext) -> float:
    """The cascade's escalation threshold: the ``cascade_quantile`` of the student's uncertainty on
    held-out observation histories."""
    if ctx.calibration_obs is None:
        raise ValueError(f"menu item {cas.name!r} needs held-out observations to calibrate its escalation "
                         "threshold (calibration_obs, e.g. from "
                         "parapolicy.scripts.bench.calibration_observations(policy, dataset))")
    obs = torch.as_tensor(np.asarray(ctx.calibration_obs), dtype=torch.float32)  # (N, To, Do)
    if obs.dim() != 3 or obs.shape[0] < 1:
        raise ValueError(f"calibration_obs must be (N >= 1, To, Do), got shape {tuple(obs.shape)}")
    gen = torch.Generator().manual_seed(ctx.seed + 1)
    with torch.no_grad():
        cond = student.encode_obs(obs)  # (N, Dc)
        x = torch.randn((obs.shape[0], ctx.model.pred_horizon, ctx.model.action_dim), generator=gen)  # (N, H, Da)
        _, u, _ = cas.measure_uncertainty(cond, x.to(cond.device), generator=gen)
    return calibrate(u.cpu(), ctx.cascade_quantile)


def build_item(spec: MenuSpec | str, ctx: MenuContext) -> MenuItem:
    """The menu item for one (parsed or textual) spec."""
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    item = _build_item(spec, ctx)
    return item if spec.temperature == 1.0 else dataclasses.replace(item, temperature=spec.temperature)


def _build_item(spec: MenuSpec, ctx: MenuContext) -> MenuItem:
    if spec.kind == "student":
        student = _pick_student(ctx.students, spec, spec.student_steps)
        sampler = _student_sampler(student, spec.text)
        start = spec.warm_start
        if start is not None:  # warm-student…: -1 is the default K // 2 of the student's K levels
            start = sampler.num_steps // 2 if start < 0 else start
            if not 0 <= start < sampler.num_steps:
                raise ValueError(f"menu item {spec.text!r}: the warm start level index must be in "
                                 f"[0, {sampler.num_steps - 1}] for a {sampler.num_steps}-step student, got {start}")
        return MenuItem(name=spec.text, sampler=sampler, denoiser=student.denoiser, warm_start=start)
    if spec.kind == "cascade":
        return _cascade_item(spec, ctx)
    if spec.kind == "draft":
        return _draft_item(spec, ctx)
    if spec.amortized == "student":
        _check_steps(spec, ctx.policy)
        student = _pick_student(ctx.students, spec, spec.student_steps)
        sch = _teacher_item(MenuSpec(text=spec.text, kind="sequential", schedule=spec.schedule, steps=spec.steps),
                            ctx).sampler.schedule
        picard = PicardSampler(sch, steps=spec.steps, window=spec.window, tol=spec.tol, lookahead=spec.lookahead,
                               name=f"{spec.text}/picard")
        ssampler = _student_sampler(student, f"student{student.config.num_inference_steps}")
        return MenuItem(name=spec.text, sampler=StudentInitPicardSampler(picard, ssampler, student.denoiser,
                                                                        name=spec.text))
    return _teacher_item(spec, ctx)


def build_menu(policy: Any, menu: Sequence[str], *, student: Any = None, calibration_obs: np.ndarray | None = None,
               cascade_quantile: float = 0.9, cascade_samples: int = 4, seed: int = 0) -> list[MenuItem]:
    """Menu items for ``policy`` (a ``DiffusionPolicy``) from spec strings, best quality first."""
    ctx = make_context(policy, student=student, calibration_obs=calibration_obs, cascade_quantile=cascade_quantile,
                       cascade_samples=cascade_samples, seed=seed)
    return [build_item(s, ctx) for s in _checked_menu(menu)]


def make_context(policy: Any, *, student: Any = None, calibration_obs: np.ndarray | None = None,
                 cascade_quantile: float = 0.9, cascade_samples: int = 4, seed: int = 0) -> MenuContext:
    """A ``MenuContext`` for ``policy`` (checks it is a diffusion policy and the students fit it)."""
    if getattr(policy.config, "kind", None) != "diffusion":
        raise ValueError(f"planners need a diffusion policy, got kind {getattr(policy.config, 'kind', None)!r}")
    if isinstance(cascade_quantile, bool) or not isinstance(cascade_quantile, numbers.Real) \
            or not 0 <= cascade_quantile <= 1:
        raise ValueError(f"cascade_quantile must be a number in [0, 1], got {cascade_quantile!r}")
    return MenuContext(policy=policy, model=ChunkModel.from_policy(policy), students=students_by_steps(student, policy),
                       calibration_obs=calibration_obs, cascade_quantile=float(cascade_quantile),
                       cascade_samples=int(cascade_samples), seed=int(seed))


def _checked_menu(menu: Any) -> list[str]:
    if isinstance(menu, str):
        menu = [menu]
    if not menu:
        raise ValueError(f"the sampler menu is empty; give at least one spec ({ALLOWED_FORMS})")
    items = list(menu)
    if len(set(items)) != len(items):
        raise ValueError(f"menu items must be unique, got {items}")
    return items


# ------------------------------------------------------------------------------------------ planners
def check_budget_ms(budget_ms: Any) -> float:
    """A budget in milliseconds: a number > 0 (``inf`` allowed: no deadline)."""
    if isinstance(budget_ms, bool) or not isinstance(budget_ms, numbers.Real) or math.isnan(float(budget_ms)) \
            or budget_ms <= 0:
        raise ValueError(f"budget_ms must be a number > 0 (milliseconds per replan), got {budget_ms!r}")
    return float(budget_ms)


def check_control_hz(control_hz: Any) -> float:
    """A control rate: a finite number > 0."""
    if isinstance(control_hz, bool) or not isinstance(control_hz, numbers.Real) \
            or not math.isfinite(float(control_hz)) or control_hz <= 0:
        raise ValueError(f"control_hz must be a finite number > 0, got {control_hz!r}")
    return float(control_hz)


def check_delay(delay: Any, model: ChunkModel, execute_every: int | None = None,
                lead: bool = False) -> int | None:
    """``None`` or an integer d >= 0 that real-time chunking can absorb: d <= s and offset + s + d <= H
    (with ``lead``, s is the executor's ``lead_horizon(s, d)``)."""
    from .async_executor import lead_horizon

    if delay is None:
        return None
    if isinstance(delay, bool) or not isinstance(delay, numbers.Integral) or delay < 0:
        raise ValueError(f"delay must be an integer >= 0 (control ticks) or null, got {delay!r}")
    H, o = model.pred_horizon, model.action_offset
    s0 = model.action_horizon if execute_every is None else int(execute_every)

    def runs(d: int) -> int:  # actions executed per chunk at delay d
        return lead_horizon(s0, d) if lead else s0

    if delay > runs(delay) or o + runs(delay) + delay > H:
        most = max((d for d in range(H) if d <= runs(d) and o + runs(d) + d <= H), default=0)
        raise ValueError(f"delay d={delay} is larger than the chunk allows: real-time chunking needs d <= s and "
                         f"offset + s + d <= H (offset={o}, s={runs(delay)}{' with the lead' if lead else ''}, "
                         f"H={H}, so d <= {most})")
    return int(delay)


def build_planner(policy: Any, *, planner: str = "realtime", menu: Sequence[str] | None = None,
                  budget_ms: float | None = None, control_hz: float = 10.0, delay: int | None = None,
                  rtc_mode: str = "guided", student: Any = None, cost_cache_dir: str | Path | None = None,
                  seed: int = 0, cost_model: CostModel | None = None, safety: float = 0.8,
                  timing: str | None = None, execute_every: int | None = None,
                  calibration_obs: np.ndarray | None = None, cascade_quantile: float = 0.9,
                  cascade_samples: int = 4, max_delay: int | None = None,
                  lead: bool = False, forecaster: Any = None) -> RealtimePlanner | AsyncExecutor:
    """A control-loop ``Policy`` over ``policy`` (a ``DiffusionPolicy``) from plain config values.

    ``planner``: chunked | realtime | async (module docstring). ``menu``: spec strings, best quality
    first (None: the policy's own sampler). ``budget_ms``: per replan (None: one control period,
    ``1000 / control_hz``; ``inf``: no deadline). ``delay``: async only — d control ticks simulated
    (None: wall-clock worker; ``timing`` overrides: simulated | wall). ``rtc_mode``: naive | frozen |
    guided | pigdm. ``student``: distilled student(s) for ``student*``/``cascade``/student-amortized items.
    ``execute_every``: actions run per chunk (RTC's s for async; the replan interval Ta for realtime and
    chunked; None: the policy's trained Ta).
    ``calibration_obs (N, To, Do)``: held-out observation histories for the cascade's threshold.
    ``max_delay``: async only — never choose an item predicted to delay the next chunk by more than
    this many control ticks (the task's delay tolerance; see ``AsyncExecutor``). ``lead``: async only —
    request each chunk d ticks early so the switch lands after s actions as without delay.
    ``forecaster``: async only — an ``ObsForecaster`` or its directory: plan each chunk from the
    observations forecast for the tick it starts to act (``planners.forecast``).
    """
    if planner not in PLANNERS:
        raise ValueError(f"unknown planner {planner!r}; allowed: {', '.join(PLANNERS)}")
    if rtc_mode not in RTC_MODES:
        raise ValueError(f"unknown rtc_mode {rtc_mode!r}; allowed: {', '.join(RTC_MODES)}")
    hz = check_control_hz(control_hz)
    budget = 1000.0 / hz if budget_ms is None else check_budget_ms(budget_ms)
    ctx = make_context(policy, student=student, calibration_obs=calibration_obs, cascade_quantile=cascade_quantile,
                       cascade_samples=cascade_samples, seed=seed)
    d = check_delay(delay, ctx.model, execute_every, lead=lead is True)
    if planner != "async" and d:
        raise ValueError(f"delay={d} needs planner=async (planner={planner} replans synchronously, without delay)")
    if planner != "async" and max_delay is not None:
        raise ValueError(f"max_delay={max_delay} needs planner=async (planner={planner} replans synchronously)")
    if planner != "async" and lead:
        raise ValueError(f"lead=true needs planner=async (planner={planner} replans synchronously)")
    if forecaster is not None:
        if planner != "async":
            raise ValueError(f"a forecaster needs planner=async (planner={planner} replans synchronously)")
        forecaster = load_policy_forecaster(forecaster, policy)
    specs = _checked_menu(menu if menu is not None else [default_spec(policy)])
    items = [build_item(s, ctx) for s in specs]
    cache = None if cost_cache_dir is None else str(cost_cache_dir)
    # the synchronous planners replan every `execute_every` actions (their Ta); the executor keeps Ta
    model = ctx.model if planner == "async" or execute_every is None else \
        dataclasses.replace(ctx.model, action_horizon=check_actions_per_chunk(ctx.model, execute_every))
    if planner == "chunked":
        return RealtimePlanner(model, items[:1], budget_ms=budget if budget_ms is not None else math.inf,
                               cost_model=cost_model, fixed=items[0].name, anytime=False, seed=seed,
                               cost_cache_dir=cache)
    rp = RealtimePlanner(model, items, budget_ms=budget, cost_model=cost_model, safety=safety, seed=seed,
                         fixed=items[0].name if len(items) == 1 else None, cost_cache_dir=cache)
    if planner == "realtime":
        return rp
    tm = timing or ("simulated" if d is not None else "wall")
    return AsyncExecutor(rp, mode=rtc_mode, timing=tm, delay=d, control_hz=hz, execute_every=execute_every,
                         max_delay=max_delay, lead=lead, forecaster=forecaster)


def load_policy_forecaster(forecaster: Any, policy: Any) -> Any:
    """``forecaster`` (an ``ObsForecaster`` or a ``parapolicy-forecast`` directory), checked against the
    policy's task, observation and action sizes and observation history."""
    from .forecast import ObsForecaster, check_forecaster, load_forecaster

    model = forecaster if isinstance(forecaster, ObsForecaster) else load_forecaster(forecaster)
    c = policy.config
    check_forecaster(model, obs_dim=int(c.obs_dim), action_dim=int(c.action_dim), obs_horizon=int(c.obs_horizon),
                     env_id=getattr(c, "env_id", None))
    return model


def planner_statistics(policy: Any) -> dict[str, Any]:
    """JSON-able statistics of a planner built by ``build_planner`` (replans, latency p50/p99, misses,
    chosen items; for async: ticks, held-action misses, delays; cascade escalation rates)."""
    if isinstance(policy, AsyncExecutor):
        out = {"kind": "async", **policy.summary(), "planner": policy.planner.summary()}
        rp = policy.planner
    elif isinstance(policy, RealtimePlanner):
        out = {"kind": "chunked" if policy.fixed is not None and not policy.anytime else "realtime",
               **policy.summary()}
        rp = policy
    else:
        return {}
    esc = {m.name: m.sampler.escalation_rate for m in rp.menu if isinstance(m.sampler, CascadeSampler)}
    if esc:
        out["escalation_rate"] = esc
    return out


def status_text(policy: Any) -> str:
    """One short line for a video frame: the last replan's item and latency (``""`` before any)."""
    rp = policy.planner if isinstance(policy, AsyncExecutor) else policy
    records = getattr(rp, "records", None)
    if not records:
        return ""
    r = records[-1]
    text = f"{r.name} {r.latency_s * 1e3:.0f} ms"
    return text + (" (late)" if r.miss else "")
