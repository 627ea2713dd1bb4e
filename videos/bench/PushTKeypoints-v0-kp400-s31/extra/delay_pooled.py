"""Pool delay curves over seed sets and give each point's difference from d = 0 with its paired error.

Every point of a ``delay.json`` records per-episode success on the same seeds as the other points of its
run, so the difference from the same mode's d = 0 is a paired one: its standard error is
sqrt(var(s_d − s_0) / n) over episodes, smaller than two independent rates' when outcomes agree.

    python delay_pooled.py LABEL=path/delay.json[,path/delay.json…] …
    python delay_pooled.py --json out.json LABEL=…      # also write the table as JSON
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


def main(argv):
    dump = None
    if argv[:1] == ["--json"]:
        dump, argv = argv[1], argv[2:]
    table = {}
    for arg in argv:
        label, files = arg.split("=", 1)
        data = load(files.split(","))
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


if __name__ == "__main__":
    main(sys.argv[1:])
