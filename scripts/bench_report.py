"""``parapolicy-bench`` report: each section's markdown table, the PNG plots, ``bench.md`` and the README
splice, all rebuilt from the section JSON files in ``out_dir``."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from parapolicy.scripts.bench import REFERENCE_ROW, Bench
from parapolicy.scripts.bench_samplers import same_run_key
from parapolicy.scripts.common import write_text_atomic


def _load(out_dir: Path, section: str) -> dict[str, Any] | None:
    p = out_dir / f"{section}.json"
    return json.loads(p.read_text()) if p.is_file() else None


def load_rows(b: Bench) -> dict[str, dict[str, Any]]:
    """Sampler rows saved for this checkpoint, env and seed (any episode count: rows are matched to
    other sections episode by episode through their seeds; traced or not: a traced network's outputs
    are checked equal to the eager one's, so only latencies differ)."""
    data = _load(b.out_dir, "samplers")
    free = ("episodes", "traced")
    key = {k: v for k, v in same_run_key(b).items() if k not in free}
    if not data or {k: v for k, v in data.get("key", {}).items() if k not in free} != key:
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


def commit_label(prov: dict[str, Any]) -> str:
    """A run's short commit, marked ``+dirty`` when the tree had uncommitted changes when it started."""
    return str(prov.get("git_commit", "?"))[:10] + ("+dirty" if prov.get("git_dirty") else "")


def _prov_line(prov: dict[str, Any], extra: str = "") -> str:
    return (f"<sub>{extra}commit `{commit_label(prov)}`, `{prov.get('command', '?')}`, "
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
    commits = sorted({commit_label(r["provenance"]) for r in data["rows"]})
    prov = data["provenance"]
    ta = f"Ta = {k['action_horizon']}, " if k.get("action_horizon") is not None else ""
    dev = k.get("device", "cpu")
    where = prov.get("cpu") if dev == "cpu" else f"{dev}, host CPU {prov.get('cpu')}"
    traced = ", networks traced (jit=true)" if k.get("traced") else ""
    seeds = f"{k['seed']}–{k['seed'] + k['episodes'] - 1}"
    rounds = sorted({r.get("latency_rounds", 1) for r in data["rows"] if r.get("latency_interleaved_with")})
    mixed = ", the latency passes of rows run in one call interleaved in " + "/".join(map(str, rounds)) + " rounds" \
        if rounds else ""
    foot = (f"<sub>{ta}{k['episodes']} episodes per row on seeds {seeds}; latency "
            f"at batch 1 per chunk on {where} with {prov.get('torch_threads')} torch thread(s){traced}{mixed}; "
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
        *([("planner", "synchronous (each replan inside its tick, no delay)")] if rt.get("planner") == "sync"
          else []),
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
    how = "synchronous" if rt.get("planner") == "sync" else f"RTC {rt['rtc_mode']}"
    return table + "\n\n" + _prov_line(rt["provenance"], f"menu {', '.join(rt['menu'])}; {how}; ")


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
    provs = {(commit_label(q), q.get("command")): q
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
            write_text_atomic(out / f"{section}.md", render(data) + "\n")
    plots = make_plots(out, b.env_cfg.short)
    md = build_markdown(out, b.env_cfg.short)
    write_text_atomic(out / "bench.md", md)
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
