"""``RealtimePlanner``: a trained chunk policy + a menu of samplers + a latency budget, as a ``Policy``.

Every ``Ta`` actions it replans: it predicts each menu item's latency with the cost model (or, once
an item has run a few times recently, with its own observed p90; an item not run for
``observe_horizon`` replans goes back to the cost model's prediction, so one slow spell — another
job on the CPU — does not bar it for the rest of the run), picks the *first* item — the menu is ordered
best quality first — whose prediction fits ``safety × budget``, and runs it under that budget (every
sampler is anytime, so even a bad prediction costs at most one pass over budget). When nothing fits it
falls back to the fastest item with one ``warnings.warn``; it never blocks waiting for a better one.
It keeps the action queue, supports a batch of M environments (``act((M, Do))``, per-row
``reset(indices=...)``), and records every replan: latency, predicted latency, chosen item, nfe,
depth, convergence and misses (latency > budget).

``ChunkModel`` is the narrow view of a trained policy the planners need (network, schedule, observation
encoder, action un-normalizer, horizons); ``ChunkModel.from_policy`` adapts a ``DiffusionPolicy``.
``SamplerSpec`` builds menu items from plain config values (what Hydra configs hold).
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from parapolicy.policies.sampling import check_temperature, needs_step_noise
from parapolicy.policies.schedules import DDIMSchedule, DDPMSchedule, FlowSchedule

from .amortized_init import amortized_trajectory
from .base import Budget, Denoiser, Sampler, SampleResult
from .cascade import CascadeSampler
from .cost_model import CostModel, is_network, model_fingerprint, predict_routed
from .multistep import AdamsBashforth2Sampler
from .picard import PicardSampler
from .rtc import InpaintingDenoiser
from .rtc_pigdm import PinvGuidedDenoiser
from .sequential import SequentialSampler
from .stats import quantile
from .student_draft import LevelRoutedDenoiser
from .warm_start import shift_chunk, warm_start

SAMPLER_KINDS = ("sequential", "picard")
COST_RATIO_WINDOW = 20  # replans whose measured / predicted latency set ``RealtimePlanner.cost_scale``
COMPARABLE_COST = 0.5  # a replan rescales an item's prediction only if it was modelled at >= this fraction of it
SOLVERS = ("euler", "ab2")  # a sequential sampler's step rule (ab2: flow models only)
INPAINT_GUIDANCE = {"blend": InpaintingDenoiser, "pigdm": PinvGuidedDenoiser}  # how ``plan_chunk`` inpaints


@dataclass
class ChunkModel:
    """What a planner needs from a trained action-chunk policy.

    ``encode_obs``: raw observation history ``(B, To, Do)`` → condition ``(B, Dc)``;
    ``unnormalize``: normalized chunk ``(B, H, Da)`` → raw actions ``(B, H, Da)``;
    ``action_offset``: the chunk position of the action for the current step (Diffusion Policy
    predicts from the first observation frame, so it is ``To − 1``).
    """

    denoiser: Denoiser
    schedule: Any
    encode_obs: Callable[[Tensor], Tensor]
    unnormalize: Callable[[Tensor], Tensor]
    obs_horizon: int
    pred_horizon: int
    action_horizon: int
    action_dim: int
    action_offset: int = 0
    timesteps: Tensor | None = None  # the policy's own inference levels (K+1,), if any
    device: torch.device | str = "cpu"

    def __post_init__(self) -> None:
        To, H, Ta, o = self.obs_horizon, self.pred_horizon, self.action_horizon, self.action_offset
        if min(To, H, Ta, self.action_dim) < 1:
            raise ValueError(f"horizons and action_dim must be >= 1, got To={To} H={H} Ta={Ta} Da={self.action_dim}")
        if not 0 <= o or o + Ta > H:
            raise ValueError(f"need 0 <= action_offset and action_offset + Ta <= H, got offset={o} Ta={Ta} H={H}")

    @classmethod
    def from_policy(cls, policy: Any) -> "ChunkModel":
        """Adapt a ``parapolicy.policies`` ``DiffusionPolicy`` (config, schedule, denoiser,
        encode_obs, normalizer)."""
        cfg = policy.config
        To = int(cfg.obs_horizon)
        return cls(denoiser=policy.denoiser, schedule=policy.schedule, encode_obs=policy.encode_obs,
                   unnormalize=_unnormalizer(policy), obs_horizon=To, pred_horizon=int(cfg.pred_horizon),
                   action_horizon=int(cfg.action_horizon), action_dim=int(cfg.action_dim),
                   action_offset=int(getattr(policy, "action_offset", To - 1)),
                   timesteps=getattr(policy, "timesteps", None), device=_device_of(policy))


def check_actions_per_chunk(model: ChunkModel, s: Any, name: str = "execute_every") -> int:
    """``s`` as the number of actions run from each chunk of ``model`` before the next one: an integer
    in 1..H - offset; otherwise one ``ValueError`` line that names the setting ``name``."""
    room = model.pred_horizon - model.action_offset
    if isinstance(s, bool) or not isinstance(s, numbers.Integral) or not 1 <= s <= room:
        raise ValueError(f"{name} must be an integer in [1, H - offset = {room}]: {name}={s!r} does not fit the "
                         f"policy's chunk (H = {model.pred_horizon} predicted actions from offset "
                         f"{model.action_offset})")
    return int(s)


def _device_of(policy: Any) -> torch.device:
    try:
        return next(policy.parameters()).device
    except (AttributeError, StopIteration):
        return torch.device("cpu")


def _unnormalizer(policy: Any) -> Callable[[Tensor], Tensor]:
    """The policy's action un-normalizer, whatever it is called."""
    for name in ("unnormalize_action", "unnormalize_actions"):
        if hasattr(policy, name):
            return getattr(policy, name)
    norm = policy.normalizer
    for name in ("unnormalize_action", "unnormalize_actions", "denormalize_action"):
        if hasattr(norm, name):
            return getattr(norm, name)
    if hasattr(norm, "unnormalize"):
        return lambda x: norm.unnormalize("action", x)
    raise ValueError(f"cannot find an action un-normalizer on {type(policy).__name__}")


@dataclass
class MenuItem:
    """One way to produce a chunk: a sampler, optionally with its own network (a student), a warm
    start level (start from the previous chunk re-noised to ``timesteps[warm_start]``) and, for
    Picard, amortized initialization toward the previous chunk. ``temperature`` scales the initial
    noise of a chunk sampled from scratch (N(0, temperature²·I); a warm start's re-noising keeps the
    trained scale); a cascade, whose uncertainty compares student samples drawn at unit scale,
    refuses it."""

    name: str
    sampler: Sampler
    denoiser: Denoiser | None = None  # None: the model's (teacher) network
    warm_start: int | None = None
    amortized: bool = False
    temperature: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.sampler, Sampler):
            raise ValueError(f"menu item {self.name!r}: sampler must be a Sampler, got {type(self.sampler).__name__}")
        try:
            t = check_temperature(self.temperature)
        except ValueError as e:
            raise ValueError(f"menu item {self.name!r}: {e}") from None
        if t != 1.0 and isinstance(self.sampler, CascadeSampler):
            raise ValueError(f"menu item {self.name!r}: a cascade samples at temperature 1 (its uncertainty "
                             f"compares unit-noise student samples), got {t}")
        K = self.sampler.num_steps
        if self.warm_start is not None and not 0 <= self.warm_start < K:
            raise ValueError(f"menu item {self.name!r}: warm_start must be in [0, {K - 1}], got {self.warm_start}")
        if self.amortized and not isinstance(self.sampler, PicardSampler):
            raise ValueError(f"menu item {self.name!r}: amortized initialization needs a Picard sampler")


@dataclass(frozen=True)
class SamplerSpec:
    """A menu item as plain config values.

    ``kind``: sequential | picard; ``steps`` K; ``schedule``: None (the model's) or ddpm | ddim | flow
    (e.g. DDIM on a DDPM-trained model); ``window``/``tol``/``lookahead``: Picard; ``warm_start``: start level
    index for warm starts; ``amortized``: Picard initial trajectory toward the previous chunk;
    ``time_power``: ρ of a flow model's time grid (``FlowSchedule``; 1 = uniform); ``solver``: a
    sequential sampler's step rule, ``euler`` (the schedule's own step) or ``ab2`` (Adams–Bashforth 2,
    flow models only).
    """

    kind: str = "sequential"
    steps: int = 10
    schedule: str | None = None
    window: int = 8
    tol: float = 0.1
    lookahead: bool = False
    warm_start: int | None = None
    amortized: bool = False
    time_power: float = 1.0
    solver: str = "euler"
    name: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in SAMPLER_KINDS:
            raise ValueError(f"unknown sampler kind {self.kind!r}; allowed: {', '.join(SAMPLER_KINDS)}")
        if isinstance(self.steps, bool) or not isinstance(self.steps, numbers.Integral) or self.steps < 1:
            raise ValueError(f"sampler steps must be an integer >= 1, got {self.steps!r}")
        if self.kind == "picard" and (isinstance(self.window, bool) or not isinstance(self.window, numbers.Integral)
                                      or self.window < 1):
            raise ValueError(f"Picard window must be an integer >= 1, got {self.window!r}")
        if self.solver not in SOLVERS:
            raise ValueError(f"unknown solver {self.solver!r}; allowed: {', '.join(SOLVERS)}")
        if self.solver != "euler" and self.kind != "sequential":
            raise ValueError(f"the {self.solver} solver runs a sequential sampler, not {self.kind}")

    def build(self, model: ChunkModel) -> MenuItem:
        """The menu item for ``model``."""
        sch = model.schedule if self.schedule is None else _schedule_for(self.schedule, model.schedule)
        if self.time_power != 1:
            if not isinstance(sch, FlowSchedule):
                raise ValueError(f"a time power (rho) needs a flow model, not {type(sch).__name__}")
            sch = dataclasses.replace(sch, time_power=self.time_power)
        sched_name = self.schedule or type(sch).__name__.replace("Schedule", "").lower()
        if self.kind == "picard":
            sampler: Sampler = PicardSampler(sch, steps=self.steps, window=self.window, tol=self.tol,
                                             lookahead=self.lookahead)
            auto = f"picard-{sched_name}{self.steps}-w{self.window}"
        else:
            sampler = AdamsBashforth2Sampler(sch, steps=self.steps) if self.solver == "ab2" else \
                SequentialSampler(sch, steps=self.steps)
            auto = f"{sched_name}{self.steps}" + (f"-rho{self.time_power:g}" if self.time_power != 1 else "") + \
                (f"-{self.solver}" if self.solver != "euler" else "")
        if self.warm_start is not None:
            auto += f"-warm{self.warm_start}"
        if self.amortized:
            auto += "-amort"
        name = self.name or auto
        sampler.name = name
        return MenuItem(name=name, sampler=sampler, warm_start=self.warm_start, amortized=self.amortized)


def _schedule_for(name: str, trained: Any) -> Any:
    """Schedule ``name`` (ddpm | ddim | flow) over the trained model's levels and clip settings."""
    allowed = ("flow",) if isinstance(trained, FlowSchedule) else ("ddpm", "ddim")
    if name not in ("ddpm", "ddim", "flow"):
        raise ValueError(f"unknown sampler schedule {name!r}; allowed: ddpm, ddim, flow")
    if name not in allowed:
        raise ValueError(f"sampler schedule {name!r} cannot run a model trained with "
                         f"{type(trained).__name__}; allowed: {', '.join(allowed)}")
    if name == "flow":
        return trained
    cls = DDIMSchedule if name == "ddim" else DDPMSchedule
    return cls(num_train_steps=trained.num_train_steps, clip_sample=trained.clip_sample,
               clip_range=trained.clip_range)


@dataclass
class ReplanRecord:
    """One replan: which item ran, how long it took versus the prediction and the budget."""

    tick: int
    name: str
    latency_s: float
    predicted_s: float
    budget_s: float
    miss: bool
    nfe: float
    depth: int
    converged: bool
    rows: int
    start_index: int
    fallback: bool


@dataclass
class PlanOutcome:
    """A planned chunk: raw actions ``(M, H, Da)`` and the normalized x0 the sampler returned."""

    actions: np.ndarray  # (M, H, Da)
    x0: Tensor  # (M, H, Da) normalized
    item: MenuItem
    result: SampleResult
    latency_s: float
    predicted_s: float
    start_index: int
    fallback: bool


def _check_budget_ms(budget_ms: Any) -> float:
    if isinstance(budget_ms, bool) or not isinstance(budget_ms, numbers.Real) or math.isnan(float(budget_ms)) \
            or budget_ms <= 0:
        raise ValueError(f"budget_ms must be a number > 0 (milliseconds per replan), got {budget_ms!r}")
    return float(budget_ms)


class RealtimePlanner:
    """A ``Policy`` that replans every ``Ta`` actions with the best menu item that fits the budget.

    ``menu``: items or specs, best quality first. ``cost_model``: None measures the model's network
    on first use (cached on disk). ``safety``: the fraction of the budget a prediction may use.
    ``fixed``: always use the item of that name. ``anytime``: give the sampler the budget as a
    deadline (otherwise it runs to completion). ``observe_horizon``: replans after which an item's
    own latency observations stop overriding the cost model (so it is tried again).
    ``rescale_costs``: multiply the cost model's prediction for an item by ``cost_scale(modelled)``,
    the median ratio of measured to predicted latency over the last replans of comparable cost, so
    that a host that has become faster or slower since the one-off measurement is priced as it is now
    (an item that has not run recently is otherwise judged by that measurement alone). Only replans
    modelled at ``COMPARABLE_COST`` or more of the item's prediction count: a cheap item's latency is
    dominated by per-replan work outside the network (encoding, noise, a cache cold from the
    simulator), which does not grow with the number of calls (stop 29, Push-T: in the control loop a
    1-call student took about 2.5× its prediction, a 5-call sampler 1.0–1.4×).
    """

    def __init__(self, model: ChunkModel, menu: Sequence[MenuItem | SamplerSpec], *, budget_ms: float,
                 cost_model: CostModel | None = None, safety: float = 0.8, fixed: str | None = None,
                 anytime: bool = True, seed: int | None = None, clock: Callable[[], float] = time.perf_counter,
                 cost_cache_dir: str | None = None, observe_horizon: int = 50, rescale_costs: bool = True) -> None:
        self.budget_s = _check_budget_ms(budget_ms) / 1000.0
        if isinstance(observe_horizon, bool) or not isinstance(observe_horizon, numbers.Integral) \
                or observe_horizon < 1:
            raise ValueError(f"observe_horizon must be an integer >= 1, got {observe_horizon!r}")
        self.observe_horizon = int(observe_horizon)
        self.rescale_costs = bool(rescale_costs)
        self._cost_ratios: list[tuple[float, float]] = []  # (modelled s, measured / modelled) of recent replans
        if isinstance(safety, bool) or not isinstance(safety, numbers.Real) or not 0 < safety <= 1:
            raise ValueError(f"safety must be a number in (0, 1], got {safety!r}")
        if not menu:
            raise ValueError("the sampler menu is empty: give at least one MenuItem or SamplerSpec")
        self.model = model
        self.menu = [m.build(model) if isinstance(m, SamplerSpec) else m for m in menu]
        names = [m.name for m in self.menu]
        if len(set(names)) != len(names):
            raise ValueError(f"menu item names must be unique, got {names}")
        if fixed is not None and fixed not in names:
            raise ValueError(f"unknown sampler {fixed!r}; menu has: {', '.join(names)}")
        self.fixed = fixed
        self.safety = float(safety)
        self.cost_model = cost_model
        self.item_costs: dict[str, CostModel] | None = None  # items on another network: their own (ensure_cost_model)
        self.cost_cache_dir = cost_cache_dir
        self.anytime = anytime
        self.clock = clock
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed if seed is not None else 0)
        self.records: list[ReplanRecord] = []
        self.observed: dict[str, list[float]] = {m.name: [] for m in self.menu}
        self.last_run: dict[str, int] = {}  # item name -> index of its latest replan record
        self._warned = False
        self._calibrated: set[str] = set()  # items already given their one trial run
        self.tick = 0
        self._rows = 0
        self._hist: list[list[np.ndarray]] = []
        self._queue: list[list[np.ndarray]] = []
        self._prev: list[Tensor | None] = []  # per row: last normalized chunk (H, Da)
        # called with each control-loop replan's raw observation history (m, To, Do) before planning
        # (e.g. to record the states a policy visits); not for calibration or latency passes
        self.on_replan: Callable[[np.ndarray], None] | None = None

    # -- Policy ----------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, indices: Sequence[int] | None = None) -> None:
        """Forget history, queue and previous chunk (all rows, or only ``indices``); reseed noise."""
        if seed is not None:
            self.seed = seed
            self.generator.manual_seed(seed)
        if indices is None:
            self._rows = 0
            self._hist, self._queue, self._prev = [], [], []
            self.tick = 0
            return
        for i in indices:
            if 0 <= i < self._rows:
                self._hist[i], self._queue[i], self._prev[i] = [], [], None

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Next action ``(Da,)`` for one observation ``(Do,)``, or ``(M, Da)`` for ``(M, Do)``."""
        obs = np.asarray(obs, dtype=np.float32)
        single = obs.ndim == 1
        batch = obs[None] if single else obs  # (M, Do)
        if batch.ndim != 2:
            raise ValueError(f"obs must be (Do,) or (M, Do), got shape {obs.shape}")
        if not np.isfinite(batch).all():
            raise ValueError("obs contains NaN or inf")
        M = batch.shape[0]
        if M != self._rows:
            self._rows = M
            self._hist = [[] for _ in range(M)]
            self._queue = [[] for _ in range(M)]
            self._prev = [None] * M
        for i in range(M):
            self._push_obs(i, batch[i])
        need = [i for i in range(M) if not self._queue[i]]
        if need:
            self._replan(need)
        out = np.stack([self._queue[i].pop(0) for i in range(M)])  # (M, Da)
        self.tick += 1
        return out[0] if single else out

    # -- planning --------------------------------------------------------------------------------
    def _push_obs(self, i: int, o: np.ndarray) -> None:
        h = self._hist[i]
        if not h:
            h.extend([o] * self.model.obs_horizon)
        else:
            h.append(o)
            del h[: len(h) - self.model.obs_horizon]

    def history(self, rows: Sequence[int]) -> np.ndarray:
        """Observation history of ``rows``: ``(m, To, Do)``."""
        return np.stack([np.stack(self._hist[i]) for i in rows])

    def _replan(self, rows: list[int]) -> None:
        prev = [self._prev[i] for i in rows]
        warm = torch.stack(prev) if all(p is not None for p in prev) else None  # (m, H, Da)
        hist = self.history(rows)  # (m, To, Do)
        if self.on_replan is not None:
            self.on_replan(hist)
        plan = self.plan_chunk(hist, warm_from=warm, executed=self.model.action_horizon)
        o, Ta = self.model.action_offset, self.model.action_horizon
        for j, i in enumerate(rows):
            self._queue[i] = list(plan.actions[j, o:o + Ta])
            self._prev[i] = plan.x0[j].detach().cpu()
        self.record(plan, rows=len(rows))

    def record(self, plan: PlanOutcome, rows: int) -> ReplanRecord:
        """Log one replan (latency, prediction, chosen item, miss) and return its record."""
        rec = ReplanRecord(tick=self.tick, name=plan.item.name, latency_s=plan.latency_s,
                           predicted_s=plan.predicted_s, budget_s=self.budget_s,
                           miss=plan.latency_s > self.budget_s, nfe=float(plan.result.nfe),
                           depth=int(plan.result.depth), converged=bool(plan.result.converged), rows=rows,
                           start_index=plan.start_index, fallback=plan.fallback)
        self.records.append(rec)
        # an anytime run cut short by the budget would look like it fits: project it to completion
        projected = plan.latency_s
        if not plan.result.converged and plan.result.depth > 0:
            full = plan.item.sampler.expected_depth(plan.start_index)
            projected *= max(1.0, full / plan.result.depth)
        self.observed[plan.item.name].append(projected)
        self.last_run[plan.item.name] = len(self.records) - 1
        modelled = self._modelled(plan.item, rows, plan.start_index)
        if modelled > 0 and projected > 0:
            self._cost_ratios.append((modelled, projected / modelled))
            del self._cost_ratios[: -COST_RATIO_WINDOW]
        return rec

    def cost_scale(self, modelled_s: float = 0.0) -> float:
        """Measured over predicted latency for an item the cost model puts at ``modelled_s``: the
        median ratio over those of the last ``COST_RATIO_WINDOW`` replans modelled at
        ``COMPARABLE_COST × modelled_s`` or more (1 when there are none), clipped to [1/4, 4]. Above
        1 the host runs slower than when the cost model was measured. ``modelled_s=0``: every replan."""
        ratios = [r for m, r in self._cost_ratios if m >= COMPARABLE_COST * modelled_s]
        if not ratios:
            return 1.0
        return min(max(quantile(ratios, 0.5), 0.25), 4.0)

    def _modelled(self, item: MenuItem, batch: int, start_index: int) -> float:
        """The cost model's own prediction for ``item`` (0 without a cost model)."""
        if self.cost_model is None:
            return 0.0
        cm = (self.item_costs or {}).get(item.name, self.cost_model)
        if isinstance(item.denoiser, LevelRoutedDenoiser):  # item_costs holds the draft network's model
            return predict_routed(item.sampler, item.denoiser.handoff, cm, self.cost_model, batch=batch,
                                  start_index=start_index)
        return cm.predict(item.sampler, batch=batch, start_index=start_index)

    def ensure_cost_model(self, cond_dim: int) -> CostModel:
        """The cost model, measured (and cached) on first use when none was given; also one for each
        menu item whose own network (a student distilled into a cheaper one, or the draft network of a
        draft item) has another architecture than the model's, sharing the model's sampler overheads
        (``item_costs``)."""
        shape = (self.model.pred_horizon, self.model.action_dim)
        if self.cost_model is None:
            self.cost_model = CostModel.measure(self.model.denoiser, x_shape=shape, cond_dim=cond_dim,
                                                device=self.model.device, cache_dir=self.cost_cache_dir)
        if self.item_costs is None:
            self.item_costs = {}
            base = model_fingerprint(self.model.denoiser, shape, cond_dim)
            for item in self.menu:
                net = item.denoiser.student if isinstance(item.denoiser, LevelRoutedDenoiser) else item.denoiser
                if is_network(net) and model_fingerprint(net, shape, cond_dim) != base:
                    own = CostModel.measure(net, x_shape=shape, cond_dim=cond_dim, device=self.model.device,
                                            cache_dir=self.cost_cache_dir)
                    own.overhead_s = self.cost_model.overhead_s
                    self.item_costs[item.name] = own
        return self.cost_model

    def predict(self, item: MenuItem, batch: int = 1, *, observed: bool = True) -> float:
        """Predicted seconds for ``item``: its observed p90 once it has run 3 times, the latest
        within ``observe_horizon`` replans (when ``observed``; runs stopped early by the budget count
        at their projected full latency), else the cost model's prediction (0 without a cost model),
        times ``cost_scale(prediction)`` when ``observed`` and ``rescale_costs``. ``observed=False`` is the
        cost model alone: deterministic, for simulated delays."""
        seen = self.observed.get(item.name, [])[-20:]
        recent = len(self.records) - 1 - self.last_run.get(item.name, -10**9) < self.observe_horizon
        if observed and len(seen) >= 3 and recent:
            return quantile(seen, 0.9)
        modelled = self._modelled(item, batch, item.warm_start or 0)
        return modelled * self.cost_scale(modelled) if observed and self.rescale_costs else modelled

    def calibrate(self, obs_hist: np.ndarray) -> dict[str, float]:
        """Run once, without a budget, every menu item whose sampler is not yet ``calibrated`` (a Picard
        chain predicts its worst-case depth until it has run, so it would never be chosen), on
        ``obs_hist (m, To, Do)``. Call it before a timed loop; ``plan_chunk`` otherwise does it on its
        first choice. Nothing is recorded as a replan and the noise generator is left as it was.
        Returns ``{item name: seconds}`` of the trial runs."""
        todo = [m for m in self.menu if not m.sampler.calibrated and m.name not in self._calibrated]
        if not todo:
            return {}
        state = self.generator.get_state()
        out = {}
        try:
            for m in todo:
                self._calibrated.add(m.name)
                t0 = time.perf_counter()
                self.plan_chunk(obs_hist, item=m, budget_s=math.inf)
                out[m.name] = time.perf_counter() - t0
        finally:
            self.generator.set_state(state)
        return out

    def fitting(self, batch: int = 1, *, limit_s: float | None = None, observed: bool = True) -> MenuItem | None:
        """The best menu item predicted to fit ``safety × min(budget, limit_s)``, or None (``limit_s``:
        a caller's own deadline, e.g. the delay an asynchronous executor can absorb; ``observed``:
        as in ``predict``)."""
        lim = self.safety * (self.budget_s if limit_s is None else min(self.budget_s, float(limit_s)))
        return next((m for m in self.menu if self.predict(m, batch, observed=observed) <= lim), None)

    def choose(self, batch: int = 1, *, limit_s: float | None = None,
               observed: bool = True) -> tuple[MenuItem, float, bool]:
        """(item, predicted seconds, fell back?): the best item predicted to fit ``safety × budget``
        (and ``safety × limit_s`` when given), else the fastest one (warning once). With
        ``observed=False`` only the cost model decides (a deterministic choice, for simulated delays)."""
        if self.fixed is not None:
            item = next(m for m in self.menu if m.name == self.fixed)
            return item, self.predict(item, batch, observed=observed), False
        item = self.fitting(batch, limit_s=limit_s, observed=observed)
        if item is not None:
            return item, self.predict(item, batch, observed=observed), False
        p, m = min(((self.predict(m, batch, observed=observed), m) for m in self.menu), key=lambda pm: pm[0])
        if not self._warned:
            what = f"the {self.budget_s * 1e3:.1f} ms budget"
            if limit_s is not None and limit_s < self.budget_s:
                what = f"the {limit_s * 1e3:.1f} ms delay limit (budget {self.budget_s * 1e3:.1f} ms)"
            warnings.warn(f"no sampler is predicted to fit {what} (fastest: {m.name} at {p * 1e3:.1f} ms); "
                          f"using it anyway", stacklevel=3)
            self._warned = True
        return m, p, True

    def plan_chunk(self, obs_hist: np.ndarray, *, warm_from: Tensor | None = None, executed: int = 0,
                   inpaint: tuple[Tensor, Tensor] | None = None, item: MenuItem | None = None,
                   budget_s: float | None = None, guidance: str = "blend") -> PlanOutcome:
        """Plan one chunk for ``obs_hist (m, To, Do)``.

        ``warm_from (m, H, Da)``: previous normalized chunks, ``executed`` actions of which ran
        since they were planned (used by warm-start/amortized items). ``inpaint``: ``(target
        (m, H, Da), weights (H,))`` for real-time chunking, applied by ``guidance``: ``blend``
        (``rtc.InpaintingDenoiser``) or ``pigdm`` (``rtc_pigdm.PinvGuidedDenoiser``). ``item``
        overrides the menu choice.
        """
        if guidance not in INPAINT_GUIDANCE:
            raise ValueError(f"unknown inpainting guidance {guidance!r}; allowed: {', '.join(INPAINT_GUIDANCE)}")
        m = obs_hist.shape[0]
        dev = self.model.device
        with torch.no_grad():
            obs_t = torch.as_tensor(obs_hist, dtype=torch.float32, device=dev)  # (m, To, Do)
            cond_probe = None
            if (self.cost_model is None or self.item_costs is None) and self.fixed is None and item is None:
                cond_probe = self.model.encode_obs(obs_t)
                self.ensure_cost_model(cond_probe.shape[-1])
            if item is None:
                if self.fixed is None:
                    self.calibrate(obs_hist)
                item, predicted, fallback = self.choose(m)
            else:
                predicted, fallback = self.predict(item, m), False
            t0 = self.clock()
            cond = cond_probe if cond_probe is not None else self.model.encode_obs(obs_t)  # (m, Dc)
            H, Da = self.model.pred_horizon, self.model.action_dim
            sampler = item.sampler
            ts = sampler.timesteps
            noise = torch.randn((m, H, Da), generator=self.generator).to(dev)  # (m, H, Da)
            if needs_step_noise(sampler.schedule):
                noises = torch.randn((sampler.num_steps, m, H, Da), generator=self.generator).to(dev)  # (K, m, H, Da)
            else:  # deterministic steps: consume no randomness (matches ``predict_chunk`` draw for draw)
                noises = torch.zeros((sampler.num_steps, m, H, Da), device=dev)  # (K, m, H, Da)
            start, kwargs = 0, {}
            x_init = noise if item.temperature == 1.0 else noise * item.temperature  # (m, H, Da)
            if warm_from is not None and executed < H:
                warm_from = warm_from.to(dev)
                if item.warm_start is not None:
                    x_init, start = warm_start(warm_from, executed, sampler.schedule, ts, item.warm_start,
                                               noise=noise)
                if item.amortized:
                    kwargs["init_trajectory"] = amortized_trajectory(
                        shift_chunk(warm_from, executed), x_init, sampler.schedule, ts, start_index=start,
                        noises=noises)
            if isinstance(sampler, CascadeSampler) and sampler.uncertainty != "spread" and warm_from is not None \
                    and executed < H:
                kwargs["reference"] = shift_chunk(warm_from.to(dev), executed)  # (m, H, Da) the old plan
            den = item.denoiser or self.model.denoiser
            if inpaint is not None:
                den = INPAINT_GUIDANCE[guidance](den, sampler.schedule, inpaint[0].to(dev), inpaint[1])
            wall = self.budget_s if budget_s is None else budget_s
            budget = Budget(wall_s=wall, clock=self.clock) if self.anytime else Budget(clock=self.clock)
            res = sampler.sample(den, cond, x_init=x_init, start_index=start, budget=budget, noises=noises,
                                 **kwargs)
            actions = self.model.unnormalize(res.x0)  # (m, H, Da)
            actions = actions.detach().cpu().numpy().astype(np.float32) if isinstance(actions, Tensor) \
                else np.asarray(actions, dtype=np.float32)
            latency = self.clock() - t0
        return PlanOutcome(actions=actions, x0=res.x0, item=item, result=res, latency_s=latency,
                           predicted_s=predicted, start_index=start, fallback=fallback)

    # -- reporting -------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Replan statistics: count, p50/p99 latency, miss rate, items used, and ``cost_scale``: the
        median measured/predicted latency over the last ``COST_RATIO_WINDOW`` replans, all items."""
        if not self.records:
            return {"replans": 0}
        lat = np.array([r.latency_s for r in self.records])
        used: dict[str, int] = {}
        for r in self.records:
            used[r.name] = used.get(r.name, 0) + 1
        return {"replans": len(self.records), "budget_ms": self.budget_s * 1e3,
                "latency_p50_ms": float(np.percentile(lat, 50) * 1e3),
                "latency_p99_ms": float(np.percentile(lat, 99) * 1e3),
                "misses": int(sum(r.miss for r in self.records)),
                "miss_rate": float(np.mean([r.miss for r in self.records])),
                "fallbacks": int(sum(r.fallback for r in self.records)),
                "mean_depth": float(np.mean([r.depth for r in self.records])),
                "mean_nfe": float(np.mean([r.nfe for r in self.records])),
                "cost_scale": self.cost_scale(), "chosen": used}
