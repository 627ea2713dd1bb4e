"""Collect ``parapolicy-eval`` JSON files into one markdown table (optionally spliced into a markdown page).

    python -m parapolicy.scripts.results_table videos/results/*.json --readme videos/bench/policies.md --name policies
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from parapolicy.scripts.report import markdown_table, splice_readme

COLUMNS = [("env", "task"), ("policy", "policy"), ("sampler", "sampler"), ("episodes", "episodes"),
           ("success", "success (95% CI)"), ("routes", "routes of successes"), ("mean_return", "mean return"),
           ("coverage", "mean max coverage"), ("latency", "latency/chunk p50 / p99 ms (batch)"),
           ("demos", "demos"), ("train", "training"), ("source", "file")]


def _ta_note(rep: dict[str, Any]) -> str:
    """`` Ta=N`` when the evaluation executed N actions per chunk instead of the policy's own Ta, and
    `` T=x`` when it sampled at a noise temperature other than 1."""
    ta = rep.get("action_horizon")
    note = f" Ta={ta}" if ta is not None and ta != rep["policy"].get("action_horizon") else ""
    temp = rep.get("temperature", 1.0)
    return note + (f" T={temp:g}" if temp != 1.0 else "")


def row_of(path: Path) -> dict[str, Any]:
    """One table row from an eval JSON (and the train summary beside its checkpoint, if any)."""
    rep = json.loads(path.read_text())
    pol, summ, lat = rep["policy"], rep["summary"], rep["latency_per_chunk"]
    row: dict[str, Any] = {
        "env": rep["env_id"].split("/")[-1],
        "policy": f"{pol['kind']} {pol['denoiser']}" + (f" {pol['objective']}" if pol["kind"] == "diffusion" else ""),
        "sampler": (f"{rep['sampler']}-{rep['steps']}" if rep.get("sampler") else "–") + _ta_note(rep),
        "episodes": summ["episodes"], "mean_return": round(summ["mean_return"], 2),
        "latency": f"{lat['p50_ms']:.1f} / {lat['p99_ms']:.1f} ({lat['batch']})", "source": path.name,
    }
    if "success_rate" in summ:
        lo, hi = summ["success_ci95"]
        row["success"] = f"{summ['success_rate']:.2f} ({lo:.2f}–{hi:.2f})"
    if "routes_of_successes" in summ:
        row["routes"] = ", ".join(f"{k} {v}" for k, v in summ["routes_of_successes"].items())
    if "mean_max_coverage" in summ:
        row["coverage"] = round(summ["mean_max_coverage"], 3)
    rec = rep.get("training") or training_record(Path(rep["checkpoint"]))
    row["train"] = note_from_record(rec)
    if pol.get("teacher"):  # a distilled student: its run folder, and so its training record, is the teacher's
        row["policy"] += f", {pol['inference_steps']}-step student"
        row["sampler"] = f"student-{pol['inference_steps']}" + _ta_note(rep)
        row["train"] = f"teacher: {row['train']}" if row["train"] else "distilled"
        note = distill_note((rec or {}).get("distill"))
        if note:
            row["policy"] += f" ({note})"
    row["demos"] = (rec or {}).get("demos")
    return row


def training_record(ckpt: Path) -> dict[str, Any] | None:
    """What is known about how a checkpoint was trained, for an eval JSON to carry (so its table row
    needs no ``runs/`` folder later): the checkpoint's own step, its run's summary (steps, wall time of
    this and earlier invocations, resume point and changed settings) and the demonstration count.
    None when neither the checkpoint's config nor a run summary is at hand."""
    step, distilled = None, None
    cfg = ckpt / "config.json"
    if cfg.is_file():
        extra = json.loads(cfg.read_text()).get("extra") or {}
        step, distilled = extra.get("step"), distill_record(extra.get("distill"))
    t = _run_summary(ckpt)
    if step is None and t is None and distilled is None:
        return None
    run = None if t is None else {k: t.get(k) for k in (
        "step", "wall_s", "total_wall_s", "steps_per_s", "resumed_from", "resumed_config_changes")}
    rec = {"step": None if step is None else int(step), "run": run, "demos": _demos_of(t)}
    if distilled is not None:
        rec["distill"] = distilled
    return rec


def distill_record(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    """The few facts of a student's ``parapolicy-distill`` summary a results row names: its
    demonstration-bank steps, bank size, on-policy rounds and the student it continued (if any)."""
    if not summary:
        return None
    cfg = summary.get("config") or {}
    rounds = summary.get("onpolicy") or []
    return {"steps": cfg.get("steps"), "bank_size": summary.get("bank_size"), "onpolicy_rounds": len(rounds),
            "onpolicy_episodes": cfg.get("onpolicy_episodes") if rounds else None,
            "init_student": summary.get("init_student"), "seconds": summary.get("seconds")}


def distill_note(rec: dict[str, Any] | None) -> str | None:
    """``"on-policy: 4 rounds × 100 rollouts, from student2_t0.8"``-style note for a student's row;
    None without a record or on-policy rounds."""
    if not rec or not rec.get("onpolicy_rounds"):
        return None
    note = f"on-policy: {rec['onpolicy_rounds']} rounds × {rec['onpolicy_episodes']} rollouts"
    return note + (f", from {Path(rec['init_student']).name}" if rec.get("init_student") else "")


def note_from_record(rec: dict[str, Any] | None) -> str | None:
    """The table's training note: the run's steps and time when the checkpoint is the run's final
    step, else only the checkpoint's step (an intermediate checkpoint of a longer run). A record
    backfilled by hand carries its note as written."""
    if rec is None:
        return None
    if rec.get("note"):
        return str(rec["note"])
    step, t = rec.get("step"), rec.get("run")
    if t is not None and (step is None or int(step) == int(t["step"])):
        resumed, changes = t.get("resumed_from"), t.get("resumed_config_changes") or []
        total = t.get("total_wall_s")
        if resumed is None or (total is not None and not changes):
            minutes = (total if total is not None else t["wall_s"]) / 60
            return f"{t['step']} steps, {minutes:.1f} min ({t['steps_per_s']:.1f}/s)"
        how = f"resumed at {resumed}" + (f" with {', '.join(changes)} changed" if changes else "")
        if total is not None:
            return f"{t['step']} steps, {total / 60:.1f} min in all ({how})"
        return f"{t['step']} steps ({how}; {t['wall_s'] / 60:.1f} min after it at {t['steps_per_s']:.1f}/s)"
    if step is None:
        return None
    return f"{step} steps" + (f" (of a {t['step']}-step run)" if t is not None else "")


def training_note(ckpt: Path) -> str | None:
    """How the checkpoint was trained (``note_from_record`` of its ``training_record``)."""
    return note_from_record(training_record(ckpt))


def demo_count(ckpt: Path) -> int | None:
    """How many demonstrations the checkpoint's run trained on (its train summary, or the dataset
    file(s) it names when the summary predates the count); None when neither is at hand."""
    return _demos_of(_run_summary(ckpt))


def _demos_of(summary: dict[str, Any] | None) -> int | None:
    if summary is None:
        return None
    if summary.get("demos") is not None:
        return int(summary["demos"])
    from parapolicy.scripts.common import UserError
    from parapolicy.scripts.train import dataset_paths

    try:
        paths = dataset_paths(summary.get("dataset")) if summary.get("dataset") else []
    except UserError:
        return None
    if not paths or not all(p.is_file() for p in paths):
        return None
    from parapolicy.envs.demos import load_demos

    return sum(len(load_demos(p).episodes) for p in paths)


def _run_summary(ckpt: Path) -> dict[str, Any] | None:
    """``train_summary.json`` of the run the checkpoint belongs to (None before the run finished)."""
    train = ckpt.parent / "train_summary.json"
    return json.loads(train.read_text()) if train.is_file() else None


def main(argv: list[str] | None = None) -> int:
    """Print (and optionally splice) the table for the given eval JSON files."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--readme", type=Path)
    ap.add_argument("--name", default="policies")
    args = ap.parse_args(argv)
    try:
        rows = [row_of(p) for p in args.files]
    except (OSError, KeyError, json.JSONDecodeError) as exc:
        print(f"error: cannot read an eval report: {exc}", file=sys.stderr)
        return 2
    table = markdown_table(rows, COLUMNS)
    print(table)
    if args.readme and not splice_readme(args.readme, args.name, table, marker="results"):
        print(f"error: no <!-- results:{args.name} --> section in {args.readme}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
