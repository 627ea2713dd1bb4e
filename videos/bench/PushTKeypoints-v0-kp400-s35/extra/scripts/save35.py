"""Copy stop 35's bench rows into the repository: the row each bench call added on each seed set.

    python save35.py <tag>[@<row>] ...   # runs/b34<tag>_<seed>/samplers.json -> extra/<tag>_<seed>.json
                                         # keeping <row> only (default student1-t0.8)
"""
import glob
import json
import sys

out = "videos/bench/PushTKeypoints-v0-kp400-s35/extra"
for arg in sys.argv[1:]:
    tag, _, row = arg.partition("@")
    for f in sorted(glob.glob(f"runs/b34{tag}_*/samplers.json")):
        seed = f.split("/")[1].rsplit("_", 1)[1]
        d = json.load(open(f))
        d["rows"] = [r for r in d["rows"] if r["name"] == (row or "student1-t0.8")]
        json.dump(d, open(f"{out}/{tag}_{seed}.json", "w"), indent=1)
        print(tag, seed, [r["name"] for r in d["rows"]])
