"""``parapolicy-bench`` delay section: success against a simulated inference delay d for each RTC mode
(``bench.py`` describes the section)."""
from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

from parapolicy.scripts.bench import Bench, split_delay_mode
from parapolicy.scripts.bench_samplers import earlier_section
from parapolicy.scripts.common import provenance, write_json_atomic


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
    old = earlier_section(b, path, key, "checkpoint/env/sampler/seed/episodes/Ta")  # keep the modes not measured again
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
