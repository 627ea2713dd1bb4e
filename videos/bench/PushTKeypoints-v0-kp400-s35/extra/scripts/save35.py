"""Copy stop 35's bench rows into the repository: the folded students' 1-step row of each seed set.

    python save35.py <tag> ...   # runs/b34<tag>_<seed>/samplers.json -> extra/<tag>_<seed>.json
"""
import glob
import json
import sys

out = "videos/bench/PushTKeypoints-v0-kp400-s35/extra"
for tag in sys.argv[1:]:
    for f in sorted(glob.glob(f"runs/b34{tag}_*/samplers.json")):
        seed = f.split("/")[1].rsplit("_", 1)[1]
        d = json.load(open(f))
        d["rows"] = [r for r in d["rows"] if r["name"] == "student1-t0.8"]
        json.dump(d, open(f"{out}/{tag}_{seed}.json", "w"), indent=1)
        print(tag, seed, [r["name"] for r in d["rows"]])
