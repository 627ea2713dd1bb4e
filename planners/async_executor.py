"""Asynchronous execution with real-time chunking: compute the next chunk while the robot keeps moving.

``AsyncExecutor`` is a ``Policy`` for one environment. Every ``s`` executed actions (default Ta) it
starts planning the next chunk from the current observation history; the controller keeps consuming
the old chunk meanwhile. With an inference delay of d control ticks the first d actions of the new
chunk (and the past positions before them) are already committed from the old chunk, so the new
chunk is sampled with those positions *frozen* to the old actions and — in ``guided`` mode — the
rest of the overlap softly pulled toward the old chunk (``rtc.InpaintingDenoiser``, weights from
``rtc_weights``). Modes: ``naive`` (just switch chunks), ``frozen`` (freeze the committed prefix),
``guided`` (freeze + a gradient-free soft pull), ``pigdm`` (freeze + RTC's own pseudo-inverse
guidance through the network, ``rtc_pigdm.PinvGuidedDenoiser``: one backward pass per call). When
the new chunk arrives at tick ``request + d`` the executor switches to its position ``offset + d``;
the actions executed in between are exactly the frozen ones. ``summary`` reports how smooth the
switches were: the action change at a switch tick against the change at every other tick.

Timing modes:

* ``simulated`` — deterministic and fast, for evaluation: the chunk is computed at the request tick
  but only delivered ``d`` ticks later; d is fixed (``delay``) or ``ceil(predicted latency × control
  rate)`` from the planner's cost model, which alone also chooses the menu item (no wall-clock
  observation enters a simulated run). Feasibility (RTC): ``d ≤ s`` and ``offset + s + d ≤ H``.
* ``wall`` — a background worker thread computes chunks while ``act`` (called by a loop paced at
  ``control_hz``, e.g. ``run_paced``) never waits: it returns the next action of the current chunk,
  switches as soon as a new chunk is ready, and when the old chunk runs dry before the new one
  arrives it holds the last committed action and counts the tick as a miss. d is estimated before
  each request from the slowest recent latency (the cost model's prediction before the first).

When d is not fixed it depends on the sampler chosen, so the choice is delay-aware: an item is only
chosen if its predicted latency also fits the ticks the old chunk has left (else the loop would run
dry) and, with ``max_delay``, at most that many ticks. Acting on an observation d ticks old costs
success on contact-rich tasks, so a fast sampler with a short delay can beat a better slow one; the
delay section of ``parapolicy-bench`` measures where a task's success starts to fall.

Request lead (``lead=True``): by default the next chunk is requested after s actions and arrives d
ticks later, so each chunk is executed at positions d … d + s − 1 — further from its observation the
longer the delay. With a lead the request goes out d ticks earlier, after max(d, s − d) actions
(d: the fixed delay, or the expected one), so a chunk is left at the same position as without delay
and every executed action stays within the first s of its chunk, at the price of more chunk requests
(with d ≥ s / 2 the worker never idles).

Forecast (``forecaster=``, an ``ObsForecaster``): the new chunk is planned as if at the tick it
starts to act, n + d, from the observation history the forecaster predicts after the d committed
actions (at most its ``max_delay`` ticks ahead); its time origin is n + d, so nothing of it is
spent on ticks already committed, and only the positions before the origin are frozen.

Only the very first chunk after ``reset`` is computed synchronously (there is nothing to execute yet).
"""
from __future__ import annotations

import math
import numbers
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor

from .realtime import MenuItem, PlanOutcome, RealtimePlanner, check_actions_per_chunk
from .rtc import RTC_MODES, rtc_weights

TIMING_MODES = ("simulated", "wall")


@dataclass
class InferenceRecord:
    """One asynchronous chunk: when it was requested and delivered, and what was frozen."""

    request_tick: int
    ready_tick: int  # tick at which the executor switched to it
    delay_est: int  # d used to freeze the prefix
    delay_actual: int  # ready_tick − request_tick
    latency_s: float
    name: str
    frozen: int  # positions frozen (offset + d − forecast ticks, clipped to the overlap)
    late: bool  # delivered after the estimated delay
    committed_old: np.ndarray  # (d', Da) old-chunk actions executed while it was computed
    committed_new: np.ndarray  # (d', Da) the new chunk's actions at those ticks
    episode: int = 0  # resets seen before it was requested (ticks restart at 0 each episode)
    switch_jump: float | None = None  # ‖a_n − a_{n−1}‖ at the switch tick n (None: nothing executed before)


@dataclass
class _Chunk:
    actions: np.ndarray  # (H, Da) raw
    x0: Tensor  # (H, Da) normalized
    t0: int  # tick at which position ``offset`` is executed


@dataclass
class _Request:
    generation: int
    tick: int
    obs_hist: np.ndarray  # (1, To, Do)
    target: Tensor | None  # (1, H, Da) normalized
    weights: Tensor | None  # (H,)
    warm: Tensor  # (1, H, Da) previous normalized chunk
    shift: int  # origin − the old chunk's t0
    item: MenuItem
    delay_est: int
    frozen: int
    origin: int  # tick of the new chunk's position ``offset`` (tick + forecast ticks)


class AsyncExecutor:
    """Real-time-chunking executor around a ``RealtimePlanner`` (its model, menu, cost model and
    budget); see the module docstring for modes and timing."""

    def __init__(self, planner: RealtimePlanner, *, mode: str = "guided", timing: str = "simulated",
                 delay: int | None = None, control_hz: float = 10.0, execute_every: int | None = None,
                 max_delay: int | None = None, lead: bool = False, forecaster: Any = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        if mode not in RTC_MODES:
            raise ValueError(f"unknown RTC mode {mode!r}; allowed: {', '.join(RTC_MODES)}")
        if timing not in TIMING_MODES:
            raise ValueError(f"unknown timing {timing!r}; allowed: {', '.join(TIMING_MODES)}")
        if isinstance(control_hz, bool) or not isinstance(control_hz, numbers.Real) \
                or not math.isfinite(control_hz) or control_hz <= 0:
            raise ValueError(f"control_hz must be a finite number > 0, got {control_hz!r}")
        m = planner.model
        H, o = m.pred_horizon, m.action_offset
        s = check_actions_per_chunk(m, m.action_horizon if execute_every is None else execute_every)
        if not isinstance(lead, bool):
            raise ValueError(f"lead must be true or false, got {lead!r}")
        if delay is not None:
            if isinstance(delay, bool) or not isinstance(delay, numbers.Integral) or delay < 0:
                raise ValueError(f"delay must be None or an integer >= 0 (control ticks), got {delay!r}")
            s_run = lead_horizon(s, delay) if lead else s
            if o + s_run + delay > H:
                raise ValueError(f"delay d={delay} is larger than the chunk allows: need offset + s + d <= H "
                                 f"({o} + {s_run} + {delay} > {H}); shorten s (execute_every) or the delay")
            if timing == "simulated" and delay > s_run:
                raise ValueError(f"delay d={delay} exceeds the execution horizon s={s}: real-time chunking "
                                 f"needs d <= s <= H - offset - d")
        if max_delay is not None:
            if isinstance(max_delay, bool) or not isinstance(max_delay, numbers.Integral) or max_delay < 1:
                raise ValueError(f"max_delay must be None or an integer >= 1 (control ticks), got {max_delay!r}")
            if delay is not None:
                raise ValueError(f"max_delay={max_delay} limits the delay a chosen sampler causes, but delay={delay} "
                                 f"fixes it: give one of them")
        self.planner = planner
        self.mode = mode
        self.timing = timing
        self.delay = delay
        self.control_hz = float(control_hz)
        self.s = int(s)
        self.max_delay = None if max_delay is None else int(max_delay)
        self.lead = lead
        if forecaster is not None:
            from .forecast import check_forecaster

            check_forecaster(forecaster, action_dim=m.action_dim, obs_horizon=m.obs_horizon)
        self.forecaster = forecaster
        # chunk requests (dropped ones at a reset too) where the limit, not the budget, ruled out a better item
        self.delay_limited = 0
        self.clock = clock
        self.records: list[InferenceRecord] = []
        self.misses = 0  # ticks without a fresh action (held the last one)
        self.ticks = 0
        self._step_sum, self._step_n = 0.0, 0  # Σ‖a_n − a_{n−1}‖ over ticks that did not switch chunks
        self.delay_clamped = 0
        self._generation = 0
        self._requests: queue.Queue[_Request | None] = queue.Queue()
        self._results: queue.Queue[tuple[_Request, PlanOutcome | BaseException]] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._in_flight: _Request | None = None
        self._pending: tuple[_Request, PlanOutcome, int] | None = None  # simulated: (req, plan, ready tick)
        self._reset_state()

    # -- lifecycle -------------------------------------------------------------------------------
    def _reset_state(self) -> None:
        self._hist: list[np.ndarray] = []
        self._chunk: _Chunk | None = None
        self._last_action: np.ndarray | None = None
        self._in_flight = None
        self._pending = None
        self.tick = 0
        self._switched = False  # a new chunk was installed at this tick
        self._executed: dict[int, np.ndarray] = {}  # tick → action (recent ticks only)

    def reset(self, *, seed: int | None = None) -> None:
        """Start a new episode: drop chunks and in-flight work (its result will be ignored)."""
        self._generation += 1
        self.planner.reset(seed=seed)
        self._reset_state()

    def close(self) -> None:
        """Stop the worker thread (wall timing)."""
        if self._worker is not None:
            self._requests.put(None)
            self._worker.join(timeout=10)
            self._worker = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    # -- Policy ----------------------------------------------------------------------------------
    def act(self, obs: np.ndarray) -> np.ndarray:
        """The action for this control tick ``(Da,)`` (never waits for inference after the first)."""
        obs = np.asarray(obs, dtype=np.float32)
        if obs.ndim == 2 and obs.shape[0] == 1:
            obs = obs[0]
        if obs.ndim != 1:
            raise ValueError(f"AsyncExecutor drives one environment: obs must be (Do,), got shape {obs.shape}")
        if not np.isfinite(obs).all():
            raise ValueError("obs contains NaN or inf")
        To = self.planner.model.obs_horizon
        self._hist = self._hist[1:] + [obs] if self._hist else [obs] * To  # To frames, oldest first
        n = self.tick
        if self._chunk is None:
            plan = self.planner.plan_chunk(self._obs_hist(), item=None)
            self.planner.tick = n
            self.planner.record(plan, rows=1)
            self._chunk = _Chunk(plan.actions[0], plan.x0[0].detach().cpu(), t0=n)
        self._collect(n)
        if self._due(n):
            self._request(n)
            self._collect(n)  # a zero-delay simulated chunk applies at once
        action = self._action_at(n)
        prev = self._executed.get(n - 1)
        if prev is not None:
            jump = float(np.linalg.norm(action - prev))
            if self._switched:
                self.records[-1].switch_jump = jump
            else:
                self._step_sum, self._step_n = self._step_sum + jump, self._step_n + 1
        self._switched = False
        self._executed[n] = action
        self._executed.pop(n - 4 * self.planner.model.pred_horizon, None)
        self.tick += 1
        self.ticks += 1
        return action

    # -- internals -------------------------------------------------------------------------------
    def _obs_hist(self) -> np.ndarray:
        return np.stack(self._hist)[None]  # (1, To, Do)

    def _due(self, n: int) -> bool:
        busy = self._in_flight is not None or self._pending is not None
        return not busy and self._chunk is not None and n - self._chunk.t0 >= self._horizon()

    def _horizon(self) -> int:
        """Actions to run from the current chunk before requesting the next: s, or with a lead
        ``lead_horizon(s, d)`` for the delay the next request is expected to have."""
        if not self.lead:
            return self.s
        if self.delay is not None:
            d = self.delay
        else:  # the item chosen last time (the budget's choice before any), as _estimate_delay sees it
            last = self.records[-1].name if self.records else None
            seen = self.timing != "simulated"
            item = next((m for m in self.planner.menu if m.name == last), None) \
                or self.planner.fitting(1, observed=seen) \
                or min(self.planner.menu, key=lambda m: self.planner.predict(m, 1, observed=seen))
            d = self._estimate_delay(item)
        return lead_horizon(self.s, d)

    def _action_at(self, n: int) -> np.ndarray:
        o, H = self.planner.model.action_offset, self.planner.model.pred_horizon
        idx = o + n - self._chunk.t0
        if 0 <= idx < H:
            self._last_action = self._chunk.actions[idx]
        else:  # the old chunk ran dry before the new one arrived: hold, count a miss
            self.misses += 1
            if self._last_action is None:
                self._last_action = self._chunk.actions[-1]
        return np.array(self._last_action, copy=True)

    def _estimate_delay(self, item: MenuItem) -> int:
        if self.delay is not None:
            return self.delay
        if self.timing == "simulated":  # deterministic: the cost model's prediction only
            lat = self.planner.predict(item, 1, observed=False)
        else:
            recent = [r.latency_s for r in self.records[-5:]]
            lat = max(recent) if recent else self.planner.predict(item, 1)
        return int(math.ceil(lat * self.control_hz - 1e-9))

    def _delay_limit_s(self, shift: int) -> float | None:
        """Seconds the next chunk may take when its delay depends on the chosen item (no fixed
        ``delay``): the ticks the old chunk has left after ``shift`` executed actions, capped by
        ``max_delay``. An item predicted to arrive later would leave ticks without an action, or act
        on an observation older than the task tolerates."""
        if self.delay is not None:
            return None
        m = self.planner.model
        ticks = m.pred_horizon - m.action_offset - shift
        if self.max_delay is not None:
            ticks = min(ticks, self.max_delay)
        return max(ticks, 0) / self.control_hz

    def _request(self, n: int) -> None:
        m = self.planner.model
        H, o = m.pred_horizon, m.action_offset
        old = self._chunk
        shift = n - old.t0
        limit_s = self._delay_limit_s(shift)
        seen = self.timing != "simulated"  # simulated: the cost model alone decides (deterministic)
        item, _, _ = self.planner.choose(1, limit_s=limit_s, observed=seen)
        if limit_s is not None and limit_s < self.planner.budget_s and self.planner.fixed is None:
            by_budget = self.planner.fitting(1, observed=seen)  # what the budget alone would have chosen
            if by_budget is not None and self.planner.menu.index(by_budget) < self.planner.menu.index(item):
                self.delay_limited += 1
        d = self._estimate_delay(item)
        d_max = max(0, H - o - shift)
        if d > d_max:
            d = d_max
            self.delay_clamped += 1
        obs_hist = self._obs_hist()
        f = 0 if self.forecaster is None else min(d, self.forecaster.max_delay)  # ticks forecast ahead
        if f:  # plan from where the committed actions (old chunk, ticks n … n + f − 1) will have taken us
            committed = old.actions[o + shift:o + shift + f]  # (f, Da) raw
            obs_hist = self.forecaster.forecast_history(obs_hist[0], committed)[None]  # (1, To, Do)
        shift += f  # the new chunk's origin (tick n + f) relative to the old chunk's
        overlap_end = max(0, H - shift)
        frozen = min(o + d - f, overlap_end)
        idx = torch.clamp(torch.arange(H) + shift, max=H - 1)
        target = old.x0[idx].unsqueeze(0)  # (1, H, Da) old chunk in the new chunk's positions
        weights = rtc_weights(H, frozen, overlap_end, self.mode)  # (H,)
        req = _Request(generation=self._generation, tick=n, obs_hist=obs_hist,
                       target=target if self.mode != "naive" else None,
                       weights=weights if self.mode != "naive" else None,
                       warm=old.x0.unsqueeze(0), shift=shift, item=item, delay_est=d, frozen=frozen, origin=n + f)
        if self.timing == "simulated":
            plan = self._plan(req)
            self._pending = (req, plan, n + d)
        else:
            self._ensure_worker()
            self._in_flight = req
            self._requests.put(req)

    def _plan(self, req: _Request) -> PlanOutcome:
        inpaint = None if req.target is None else (req.target, req.weights)
        return self.planner.plan_chunk(req.obs_hist, warm_from=req.warm, executed=req.shift, inpaint=inpaint,
                                       item=req.item, guidance="pigdm" if self.mode == "pigdm" else "blend")

    def _collect(self, n: int) -> None:
        """Install a finished chunk, if any is due at tick ``n`` (never before its origin)."""
        while self.timing == "wall":
            try:
                req, plan = self._results.get_nowait()
            except queue.Empty:
                break
            if req.generation != self._generation:
                continue  # from before a reset
            self._in_flight = None
            if isinstance(plan, BaseException):
                raise RuntimeError("asynchronous planning failed") from plan
            self._pending = (req, plan, req.origin)
        if self._pending is not None and n >= self._pending[2]:
            req, plan, _ = self._pending
            self._pending = None
            self._install(req, plan, n)

    def _install(self, req: _Request, plan: PlanOutcome, n: int) -> None:
        o, H = self.planner.model.action_offset, self.planner.model.pred_horizon
        new = _Chunk(plan.actions[0], plan.x0[0].detach().cpu(), t0=req.origin)
        d_act = n - req.tick
        # ticks executed while it was computed that the new chunk also covers (all of them unless forecast,
        # or unless it took longer than its own horizon, on a wall clock)
        ticks = [t for t in range(max(req.tick, new.t0 - o), min(n, new.t0 - o + H)) if t in self._executed]
        committed_old = np.stack([self._executed[t] for t in ticks]) if ticks else np.zeros((0, new.actions.shape[1]))
        committed_new = new.actions[[o + t - new.t0 for t in ticks]]
        self.records.append(InferenceRecord(
            request_tick=req.tick, ready_tick=n, delay_est=req.delay_est, delay_actual=d_act,
            latency_s=plan.latency_s, name=plan.item.name, frozen=req.frozen, late=d_act > req.delay_est,
            committed_old=committed_old, committed_new=committed_new, episode=req.generation))
        self.planner.tick = n
        self.planner.record(plan, rows=1)
        self._chunk = new
        self._switched = True

    def _ensure_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._work, name="parapolicy-async-planner", daemon=True)
            self._worker.start()

    def _work(self) -> None:
        while True:
            req = self._requests.get()
            if req is None:
                return
            try:
                plan: PlanOutcome | BaseException = self._plan(req)
            except BaseException as exc:  # reported to the control thread
                plan = exc
            self._results.put((req, plan))

    # -- reporting -------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Ticks, misses (held actions), inference delays, lateness, and continuity: the mean action
        change ‖a_n − a_{n−1}‖ (raw action units) at ticks that switched to a new chunk against the mean
        over all other ticks (``switch_jump_ratio`` ≫ 1: visible jerks at chunk boundaries)."""
        lat = [r.latency_s for r in self.records]
        jumps = [r.switch_jump for r in self.records if r.switch_jump is not None]
        step = self._step_sum / self._step_n if self._step_n else None
        jump = float(np.mean(jumps)) if jumps else None
        return {"ticks": self.ticks, "misses": self.misses, "inferences": len(self.records),
                "late": int(sum(r.late for r in self.records)), "delay_clamped": self.delay_clamped,
                "max_delay": self.max_delay, "delay_limited": self.delay_limited, "lead": self.lead,
                "forecast": self.forecaster is not None,
                "delay_actual_mean": float(np.mean([r.delay_actual for r in self.records])) if lat else 0.0,
                "latency_p50_ms": float(np.percentile(lat, 50) * 1e3) if lat else 0.0,
                "latency_p99_ms": float(np.percentile(lat, 99) * 1e3) if lat else 0.0,
                "switch_jump_mean": jump, "step_mean": step,
                "switch_jump_ratio": jump / step if jump is not None and step else None,
                "mode": self.mode, "timing": self.timing}


def lead_horizon(s: int, d: int) -> int:
    """Actions to run from a chunk before requesting the next one d ticks ahead, so the switch lands
    where it would without delay (after s actions): max(d, s − d), and at least 1. RTC needs d <= it."""
    return max(int(d), int(s) - int(d), 1)


@dataclass
class PacedRun:
    """What a paced loop saw: one action per tick and the ticks that started late."""

    actions: np.ndarray  # (T, Da)
    late_ticks: int
    tick_s: list[float] = field(default_factory=list)  # seconds each act() call took


def run_paced(policy: Any, get_obs: Callable[[int], np.ndarray], ticks: int, control_hz: float, *,
              clock: Callable[[], float] = time.perf_counter, sleep: Callable[[float], None] = time.sleep
              ) -> PacedRun:
    """Call ``policy.act(get_obs(k))`` at ``control_hz`` for ``ticks`` ticks (wall-clock pacing)."""
    period = 1.0 / control_hz
    start = clock()
    out, durations, late = [], [], 0
    for k in range(ticks):
        due = start + k * period
        now = clock()
        if now < due:
            sleep(due - now)
        elif now - due > period:
            late += 1
        t0 = clock()
        out.append(np.asarray(policy.act(get_obs(k))))
        durations.append(clock() - t0)
    return PacedRun(actions=np.stack(out), late_ticks=late, tick_s=durations)
