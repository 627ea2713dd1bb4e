"""Pooled success of Push-T student rows against flow-100 over every seed set benched, paired by seed (stop 34).

Each saved bench JSON holds rows on one seed set of 100 episodes. A sampler's rows are pooled over the
sets and compared with flow-100 on the very same seeds: the per-episode paired difference gives the
standard error of the difference, and the delta method (with the paired covariance) that of the ratio.

    python pooled.py <seeds> <flow-100 patterns> <label>=<patterns>[@<row>] ...

``<seeds>``: comma-separated first seeds of the sets; ``<patterns>``: '+'-separated file paths with
``{seed}`` in them, the first that exists for a set is used; ``<row>`` defaults to student2-t0.8.
``pooled.sh`` beside this file is the command for stop 34's table.
"""
import json
import math
import sys
from pathlib import Path


def find(patterns: str, seed: str) -> Path | None:
    for p in patterns.split("+"):
        f = Path(p.format(seed=seed))
        if f.is_file():
            return f
    return None


def outcomes(path: Path, row: str) -> dict[int, float]:
    rows = {r["name"]: r for r in json.loads(path.read_text())["rows"]}
    return {int(e["seed"]): float(bool(e["success"])) for e in rows[row]["episode_results"]}


def main() -> None:
    seeds = sys.argv[1].split(",")
    teacher: dict[int, float] = {}
    for s in seeds:
        f = find(sys.argv[2], s)
        if f is None:
            raise SystemExit(f"no flow-100 file for seed set {s}")
        teacher.update(outcomes(f, "flow100-t0.8"))
    print(f"flow-100: {sum(teacher.values()) / len(teacher):.3f} over {len(teacher)} episodes ({len(seeds)} sets)")
    for arg in sys.argv[3:]:
        label, spec = arg.split("=", 1)
        patterns, _, row = spec.partition("@")
        row = row or "student2-t0.8"
        mine: dict[int, float] = {}
        per_set = []
        for s in seeds:
            f = find(patterns, s)
            if f is None:
                per_set.append("–")
                continue
            o = outcomes(f, row)
            mine.update(o)
            per_set.append(f"{sum(o.values()) / len(o):.2f}")
        keys = sorted(mine)
        n = len(keys)
        a = sum(mine[k] for k in keys) / n
        t = sum(teacher[k] for k in keys) / n
        d = [mine[k] - teacher[k] for k in keys]
        se_d = math.sqrt(sum((x - (a - t)) ** 2 for x in d) / (n - 1) / n)
        cov = sum((mine[k] - a) * (teacher[k] - t) for k in keys) / (n - 1) / n
        ratio = a / t
        se_r = ratio * math.sqrt(a * (1 - a) / n / a**2 + t * (1 - t) / n / t**2 - 2 * cov / (a * t))
        print(f"{label}: {a:.3f} on {n} episodes ({' / '.join(per_set)}); flow-100 on the same seeds {t:.3f}; "
              f"difference {a - t:+.3f} ± {se_d:.3f}; ratio {ratio:.3f} ± {se_r:.3f}")


if __name__ == "__main__":
    main()
