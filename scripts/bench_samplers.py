"""``parapolicy-bench`` samplers section: one row per menu spec, success on seeded episodes and batch-1
latency, with the cost model's prediction beside each (``bench.py`` describes the section)."""
from __future__ import annotations

import copy
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from parapolicy.scripts.bench import (DEFAULT_ROWS, REFERENCE_ROW, Bench, fixed_planner, for_teacher,
                                      measure_cost_model, progress_bar, teacher_cost_model, usable)
from parapolicy.scripts.common import UserError, provenance, write_json_atomic


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


def remeasure_cost(b: Bench) -> Any:
    """Re-time the denoiser against batch size now (the CPU's speed drifts when other jobs share it);
    ``sampler_row`` averages a measurement taken just before and one just after its latency pass
    (``average_cost``), so prediction and measurement see the same machine state."""
    return teacher_cost_model(b.policy, b.ctx.model, b.cfg)


def average_cost(b: Bench, before: Any, after: Any) -> None:
    """Set the bench cost model's cold, warm and steady per-call seconds to the mean of two measurements."""
    for kind in ("latency_s", "warm_latency_s", "steady_latency_s"):
        one, two = getattr(before, kind), getattr(after, kind)
        setattr(b.cost_model, kind, {n: (one[n] + two[n]) / 2 for n in one})


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
    escalation rate; Picard uses the depth it was seen to need; a student's draft finished by the
    teacher prices each network's calls on its own cost model) plus the measured planner overhead per
    call. ``start_indices``: the start level of each timed replan (a warm start's first chunk of an
    episode starts cold at 0), averaged over; None: the item's own warm-start level."""
    from parapolicy.planners.cascade import CascadeSampler
    from parapolicy.planners.cost_model import predict_routed
    from parapolicy.planners.student_draft import LevelRoutedDenoiser
    from parapolicy.planners.student_picard import StudentInitPicardSampler

    cm, s = b.cost_model, item.sampler
    if isinstance(s, CascadeSampler):
        sec = cm.predict(s.student, batch=s.n_samples) + s.escalation_rate * cm.predict(s.teacher, batch=1)
    elif isinstance(s, StudentInitPicardSampler):
        sec = cm.predict(s.student, batch=1) + cm.predict(s.picard, batch=1)
    elif isinstance(item.denoiser, LevelRoutedDenoiser):  # a student's draft, the teacher's finish
        sec = predict_routed(s, item.denoiser.handoff, network_cost_model(b, item.denoiser.student), cm)
    else:
        starts = list(start_indices) if start_indices else [item.warm_start or 0]
        cm = network_cost_model(b, item.denoiser)
        sec = float(np.mean([cm.predict(s, batch=1, start_index=int(i)) for i in starts]))
    return sec * 1e3 + b.plan_overhead_ms


@dataclass
class _Evaluated:
    """A row's success pass, waiting for its latency pass."""

    spec: str
    item: Any
    results: list[Any]
    eval_s: float
    escalation: float | None
    batched: dict[str, Any]
    records: list[Any]  # the success pass's own replans (its latency pass when num_envs == 1)


def evaluate_row(b: Bench, spec: str) -> _Evaluated:
    """A row's success on the bench seeds (``num_envs`` environments, the sampler run to completion)."""
    from parapolicy.planners.cascade import CascadeSampler
    from parapolicy.planners.menu import build_item
    from parapolicy.planners.vector_eval import evaluate_vector

    cfg = b.cfg
    item = build_item(spec, b.ctx)
    planner = fixed_planner(b, item)
    bar, progress = progress_bar(b, cfg.episodes, spec)
    t0 = time.perf_counter()
    try:
        results = evaluate_vector(b.env_cfg.make, planner, episodes=cfg.episodes, num_envs=cfg.num_envs,
                                  seed=cfg.seed, use_async=cfg.use_async, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    escalation = item.sampler.escalation_rate if isinstance(item.sampler, CascadeSampler) else None
    return _Evaluated(spec, item, results, time.perf_counter() - t0, escalation, planner.summary(),
                      list(planner.records))


def sampler_row(b: Bench, spec: str) -> dict[str, Any]:
    """Evaluate one sampler spec: success on the bench seeds, batch-1 latency, nfe, depth, prediction."""
    cfg = b.cfg
    ev = evaluate_row(b, spec)
    timed = cfg.cost_per_row and cfg.num_envs != 1
    before = remeasure_cost(b) if timed else None
    t1 = time.perf_counter()
    if cfg.num_envs == 1:
        recs = ev.records[cfg.latency_warmup:cfg.latency_warmup + cfg.latency_chunks] or ev.records
    else:
        recs = latency_pass(b, ev.item)
    latency_s = time.perf_counter() - t1
    if before is not None:
        average_cost(b, before, remeasure_cost(b))
    return finish_row(b, ev, recs, latency_s)


def interleaved_latency(b: Bench, items: dict[str, Any]) -> dict[str, tuple[list[Any], int]]:
    """Batch-1 latency passes of several rows, interleaved: ``latency_rounds`` rounds, in each of which
    every row plans about ``latency_chunks / latency_rounds`` chunks in its own closed-loop episode (the
    next bench seed each time). A CPU whose speed drifts over minutes then slows every row alike, so
    the ratios between rows measure the samplers, not the moment each was timed. Each row's first
    ``latency_warmup`` replans are discarded. Returns ``{spec: (timed replan records, episodes run)}``."""
    from parapolicy.planners.rollout import run_episode

    cfg = b.cfg
    need = cfg.latency_warmup + cfg.latency_chunks
    per_round = max(1, math.ceil(cfg.latency_chunks / cfg.latency_rounds))
    planners = {s: fixed_planner(b, it) for s, it in items.items()}
    envs: dict[str, Any] = {}
    episode = dict.fromkeys(items, 0)
    try:
        for s in items:
            envs[s] = b.env_cfg.make()
        while any(len(p.records) < need for p in planners.values()):
            for s, p in planners.items():
                goal = min(need, len(p.records) + per_round + (0 if p.records else cfg.latency_warmup))
                while len(p.records) < goal:
                    ta = p.model.action_horizon
                    run_episode(envs[s], p, seed=cfg.seed + episode[s], max_steps=(goal - len(p.records)) * ta)
                    episode[s] += 1
    finally:
        for env in envs.values():
            env.close()
    return {s: (p.records[cfg.latency_warmup:need], episode[s]) for s, p in planners.items()}


def finish_row(b: Bench, ev: _Evaluated, recs: list[Any], latency_s: float, rounds: int = 1) -> dict[str, Any]:
    """The row's JSON from its success pass and its timed replans ``recs`` (timed in ``rounds``
    interleaved rounds)."""
    from parapolicy.planners.stats import latency_summary
    from parapolicy.planners.vector_eval import results_to_dicts, summarize_results

    cfg, item = b.cfg, ev.item
    lat = latency_summary([r.latency_s for r in recs])
    measure_overheads(b, item)
    pred = predict_ms(b, item, [r.start_index for r in recs])
    summary = summarize_results(ev.results)
    return {
        "name": ev.spec, "sampler": type(item.sampler).__name__, **summary,
        "nfe": float(np.mean([r.nfe for r in recs])), "depth": float(np.mean([r.depth for r in recs])),
        "depth_p50": float(np.median([r.depth for r in recs])),
        "converged_fraction": float(np.mean([r.converged for r in recs])),
        "latency_p50_ms": lat["p50_ms"], "latency_p99_ms": lat["p99_ms"], "latency_mean_ms": lat["mean_ms"],
        "latency_chunks": lat["count"], "predicted_ms": pred, "plan_overhead_ms": b.plan_overhead_ms,
        "cost_batch1_ms": network_cost_model(b, item.denoiser).cost(1) * 1e3,
        # the cost model predicts an expected (mean) time per call, so it is checked against the mean
        "prediction_error": (pred - lat["mean_ms"]) / lat["mean_ms"] if lat["mean_ms"] > 0 else None,
        "escalation_rate": ev.escalation, "batched_eval": {"num_envs": cfg.num_envs, **ev.batched},
        "eval_s": ev.eval_s, "latency_pass_s": latency_s, "latency_rounds": rounds,
        "seeds": [cfg.seed, cfg.seed + cfg.episodes - 1], "episode_results": results_to_dicts(ev.results),
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


def same_run_key(b: Bench) -> dict[str, Any]:
    c = b.cfg
    return {"checkpoint": str(Path(c.checkpoint).resolve()), "env_id": b.env_cfg.id, "seed": c.seed,
            "episodes": c.episodes, "action_horizon": b.samplers_model.action_horizon,
            "device": device_label(b.ctx.model.device), "traced": bool(b.cfg.jit)}


def earlier_section(b: Bench, path: Path, key: dict[str, Any], what: str,
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
    key = same_run_key(b)
    path = b.out_dir / "samplers.json"
    # files from before the device and jit options ran on the CPU, untraced
    old = earlier_section(b, path, key, "checkpoint/env/seed/episodes/Ta/device/jit",
                          {"device": "cpu", "traced": False})
    rows: dict[str, dict[str, Any]] = {r["name"]: r for r in old.get("rows", [])} if old else {}
    ref = b.cfg.samplers_reference
    if ref is not None and ref not in b.cfg.rows and ref not in rows:
        raise UserError(f"samplers_reference={ref} is neither one of rows {b.cfg.rows} nor a row of {path}")
    specs = usable(b, b.cfg.rows, "samplers")
    interleave = b.cfg.latency_rounds > 1 and b.cfg.num_envs != 1
    if b.cfg.latency_rounds > 1 and not interleave:
        b.say("latency_rounds is ignored with num_envs=1: each row's success pass is its latency pass")
    if interleave:
        if specs:
            run_interleaved(b, specs, rows)
            write_json_atomic(path, _samplers_data(b, key, rows))
        return _samplers_data(b, key, rows)
    for spec in specs:
        row = sampler_row(b, spec)
        rows[spec] = row
        b.say(_row_line(row))
        write_json_atomic(path, _samplers_data(b, key, rows))  # after every row: a long run keeps what it measured
    return _samplers_data(b, key, rows)


def run_interleaved(b: Bench, specs: Sequence[str], rows: dict[str, dict[str, Any]]) -> None:
    """Every row's success pass, then one interleaved latency pass over all of them (``latency_rounds``);
    the cost model is re-measured around that pass (``cost_per_row``) as it is around a single row's."""
    evaluated = {}
    for spec in specs:
        evaluated[spec] = evaluate_row(b, spec)
        b.say(f"{spec}: success pass done in {evaluated[spec].eval_s:.0f} s")
    before = remeasure_cost(b) if b.cfg.cost_per_row else None
    t1 = time.perf_counter()
    recs = interleaved_latency(b, {s: ev.item for s, ev in evaluated.items()})
    latency_s = time.perf_counter() - t1
    if before is not None:
        average_cost(b, before, remeasure_cost(b))
    for spec, ev in evaluated.items():
        rows[spec] = finish_row(b, ev, recs[spec][0], latency_s, b.cfg.latency_rounds)
        rows[spec]["latency_interleaved_with"] = [s for s in specs if s != spec]
        rows[spec]["latency_episodes"] = recs[spec][1]
        b.say(_row_line(rows[spec]))


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
