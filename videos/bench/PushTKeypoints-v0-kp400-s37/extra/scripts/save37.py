"""Copy stop 37's bench rows into the repository.

    python save37.py ref <tag>[@<row>,<row>] ...   # runs/b37<tag>_<seed>/samplers.json (ref: runs/b36ref_<seed>,
                                                   # the sets stop 36 did not save) -> extra/<tag>_<seed>.json,
                                                   # keeping the rows named (default student1-t0.8; ref: all)
"""
import glob
import json
import os
import sys

out = "videos/bench/PushTKeypoints-v0-kp400-s37/extra"
saved36 = "videos/bench/PushTKeypoints-v0-kp400-s36/extra"
for arg in sys.argv[1:]:
    tag, _, rows = arg.partition("@")
    keep = rows.split(",") if rows else ["student1-t0.8"]
    for f in sorted(glob.glob(f"runs/b36ref_*/samplers.json" if tag == "ref" else f"runs/b37{tag}_*/samplers.json")):
        seed = f.split("/")[1].rsplit("_", 1)[1]
        if tag == "ref" and os.path.exists(f"{saved36}/ref_{seed}.json"):
            continue
        d = json.load(open(f))
        if tag != "ref":
            d["rows"] = [r for r in d["rows"] if r["name"] in keep]
        json.dump(d, open(f"{out}/{tag}_{seed}.json", "w"), indent=1)
        print(tag, seed, [(r["name"], r["success_rate"]) for r in d["rows"]])
