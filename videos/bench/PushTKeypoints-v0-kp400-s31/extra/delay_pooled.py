"""Pool delay curves over seed sets and give each point's difference from d = 0 with its paired error.

Every point of a ``delay.json`` records per-episode success on the same seeds as the other points of its
run, so the difference from the same mode's d = 0 is a paired one: its standard error is
sqrt(var(s_d − s_0) / n) over episodes, smaller than two independent rates' when outcomes agree.

    python delay_pooled.py LABEL=path/delay.json[,path/delay.json…][@mode,mode…] …   (@: only those modes)
    python delay_pooled.py --json out.json --png out.png LABEL=…   # also the table as JSON, the curves as PNG
"""
import json
import math
import sys


def load(paths):
    """{mode: {d: [episode successes, concatenated over the files in order]}}; the files' d = 0 points
    for a mode with a +lead/+forecast suffix may come from the plain mode (identical at d = 0)."""
    out = {}
    for p in paths:
        curves = json.load(open(p))["curves"]
        for mode, pts in curves.items():
            for pt in pts:
                out.setdefault(mode, {}).setdefault(pt["delay"], []).extend(int(bool(s)) for s in pt["episode_success"])
    return out


def plot(table, path):
    """Success against delay, one curve per (label, mode), with 95% Wilson intervals: the bench's own
    ``delay_plot`` (run with the project's Python, which has matplotlib)."""
    from pathlib import Path

    from parapolicy.planners.stats import wilson_interval
    from parapolicy.scripts.plots import delay_plot

    curves = {}
    for label, rows in table.items():
        for r in rows:
            k = round(r["success"] * r["n"])
            curves.setdefault(f"{r['mode']} ({label}, n={r['n']})", []).append(
                {"delay": r["delay"], "success_rate": r["success"], "success_ci95": list(wilson_interval(k, r["n"]))})
    delay_plot(curves, Path(path), title="Push-T keypoints, AB2-5 at Ta = 8, pooled over seed sets")


def main(argv):
    dump = png = None
    while argv[:1] in (["--json"], ["--png"]):
        if argv[0] == "--json":
            dump = argv[1]
        else:
            png = argv[1]
        argv = argv[2:]
    table = {}
    for arg in argv:
        label, files = arg.split("=", 1)
        files, _, only = files.partition("@")
        data = load(files.split(","))
        if only:
            data = {m: v for m, v in data.items() if m in only.split(",")}
        for mode, by_d in data.items():
            base = by_d.get(0)
            for d in sorted(by_d):
                s = by_d[d]
                row = {"label": label, "mode": mode, "delay": d, "n": len(s), "success": sum(s) / len(s)}
                if base is not None and len(base) == len(s) and d:
                    diff = [a - b for a, b in zip(s, base)]
                    m = sum(diff) / len(diff)
                    var = sum((x - m) ** 2 for x in diff) / (len(diff) - 1)
                    row.update(diff=m, diff_se=math.sqrt(var / len(diff)))
                table.setdefault(label, []).append(row)
                extra = f"  {row['diff']:+.3f} ± {row['diff_se']:.3f} (paired SE)" if "diff" in row else ""
                print(f"{label:>18} {mode:>22} d={d}: {row['success']:.3f} (n={row['n']}){extra}")
    if dump:
        with open(dump, "w") as f:
            json.dump(table, f, indent=1)
    if png:
        plot(table, png)


if __name__ == "__main__":
    main(sys.argv[1:])
