"""Copy stop 38 (and, with OUT=, later stops)'s bench rows into the repository (they were run with stop 37's bench37_st.sh).

    python save38.py <tag>[@<row>,<row>] ...   # runs/b37<tag>_<seed>/samplers.json -> extra/<tag>_<seed>.json,
                                               # keeping the rows named (default student1-t0.8)
"""
import glob
import os
import json
import sys

out = os.environ.get("OUT", "videos/bench/PushTKeypoints-v0-kp400-s38/extra")  # stop 39: OUT=…-s39/extra
for arg in sys.argv[1:]:
    tag, _, rows = arg.partition("@")
    keep = rows.split(",") if rows else ["student1-t0.8"]
    for f in sorted(glob.glob(f"runs/b37{tag}_*/samplers.json")):
        seed = f.split("/")[1].rsplit("_", 1)[1]
        d = json.load(open(f))
        d["rows"] = [r for r in d["rows"] if r["name"] in keep]
        json.dump(d, open(f"{out}/{tag}_{seed}.json", "w"), indent=1)
        print(tag, seed, [(r["name"], r["success_rate"]) for r in d["rows"]])
