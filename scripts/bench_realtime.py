"""``parapolicy-bench`` real-time section: ``AsyncExecutor`` (or, with ``realtime_planner=sync``,
``RealtimePlanner`` on the control thread) over a menu on the wall clock, paced at the control rate,
counting missed and late ticks (``bench.py`` describes the section). As in a real-time control
loop, Python's automatic garbage collection is paused while an episode runs and done between
episodes, so a collection pause never lands inside a tick."""
from __future__ import annotations

import gc
import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from parapolicy.scripts.bench import Bench, usable
from parapolicy.scripts.bench_report import load_rows
from parapolicy.scripts.common import UserError, provenance, write_json_atomic


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
    late_detail: list[dict[str, Any]]  # per late tick: step, start lag (ms after the tick began), act ms, replanned?


def paced_episode(env: Any, policy: Any, *, seed: int, hz: float, max_steps: int) -> PacedEpisode:
    """Run one episode at ``hz`` on the wall clock. The first action (a synchronous plan) is taken
    before the clock starts; tick k's action is due one period after tick k starts; a late tick
    restarts the schedule (one hiccup counts once). Garbage is collected before the episode and
    automatic collection is off during it (restored after)."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        return _paced_episode(env, policy, seed=seed, hz=hz, max_steps=max_steps)
    finally:
        if was_enabled:
            gc.enable()


def _paced_episode(env: Any, policy: Any, *, seed: int, hz: float, max_steps: int) -> PacedEpisode:
    period = 1.0 / hz
    obs, info = env.reset(seed=seed)
    policy.reset(seed=seed)
    action = policy.act(obs)
    ret, steps, late, acts, detail = 0.0, 0, 0, [], []
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
        replans = len(getattr(policy, "records", ()))
        t0 = time.perf_counter()
        action = policy.act(obs)
        done = time.perf_counter()
        acts.append((done - t0) * 1e3)
        if done > tick_start + period:
            late += 1
            detail.append({"step": steps, "start_lag_ms": (t0 - tick_start) * 1e3, "act_ms": (done - t0) * 1e3,
                           "replanned": len(getattr(policy, "records", ())) != replans})
            tick_start = done - period  # the next tick starts now
    return PacedEpisode(seed=seed, steps=steps, ret=ret, success=success, max_coverage=cover, finished=finished,
                        late_ticks=late, act_ms=acts, late_detail=detail)


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
    sync = cfg.realtime_planner == "sync"
    common = dict(menu=menu, budget_ms=cfg.realtime_budget_ms, control_hz=cfg.realtime_hz, student=b.students,
                  cost_model=b.cost_model, seed=cfg.seed, calibration_obs=b.ctx.calibration_obs,
                  execute_every=cfg.realtime_execute_every)
    if sync:  # RealtimePlanner on the control thread: each replan must fit inside its tick
        ex = build_planner(b.policy, planner="realtime", **common)
    else:
        ex = build_planner(b.policy, planner="async", rtc_mode=cfg.realtime_mode, max_delay=cfg.realtime_max_delay,
                           lead=cfg.realtime_lead, forecaster=b.forecaster if cfg.realtime_forecast else None,
                           **common)
    rp = ex if sync else ex.planner
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
        if not sync:
            ex.close()
        env.close()
    wall = time.perf_counter() - t0
    stats = planner_statistics(ex)
    done = [e for e in eps if e.finished]
    flags = [e.success for e in done if e.success is not None]
    k = int(sum(flags))
    seeds = {e.seed for e in done}
    ref_row = load_rows(b).get(cfg.realtime_reference)
    rec_lat = [r.latency_s for r in rp.records]
    acts = [a for e in eps for a in e.act_ms]
    late = int(sum(e.late_ticks for e in eps))
    out = {
        "section": "realtime", "env_id": b.env_cfg.id, "checkpoint": cfg.checkpoint, "menu": menu,
        "control_hz": cfg.realtime_hz, "budget_ms": cfg.realtime_budget_ms, "planner": cfg.realtime_planner,
        "rtc_mode": None if sync else cfg.realtime_mode,
        "execute_every": rp.model.action_horizon if sync else ex.s, "action_horizon": b.ctx.model.action_horizon,
        "max_delay": None if sync else ex.max_delay, "delay_limited": 0 if sync else ex.delay_limited,
        "lead": False if sync else ex.lead, "forecast": not sync and ex.forecaster is not None,
        "ticks": total, "episodes": len(eps), "finished_episodes": len(done),
        # sync: no action queue runs dry in the background; a tick is missed when its action is late
        "missed_ticks": late if sync else int(ex.misses), "late_ticks": late,
        "late_ticks_detail": [{"episode": e.seed, **d} for e in eps for d in e.late_detail],
        "replans": len(rp.records), "chosen": (stats if sync else stats["planner"]).get("chosen", {}),
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
        "requests": [] if sync else [[r.episode, r.request_tick, r.ready_tick] for r in ex.records],
        "notes": list(b.notes), "provenance": provenance({"episodes": [cfg.seed, cfg.seed + len(eps) - 1]}),
        "load_avg": list(os.getloadavg()),
    }
    write_json_atomic(b.out_dir / "realtime.json", out)
    b.say(f"realtime: {total} ticks at {cfg.realtime_hz:g} Hz, budget {cfg.realtime_budget_ms:g} ms: missed "
          f"{out['missed_ticks']}, late {out['late_ticks']}, chosen {out['chosen']}, success "
          f"{out['success_rate']} over {len(done)} episodes; {wall:.0f} s")
    return out
