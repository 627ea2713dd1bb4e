"""Copy stop 34's bench rows into the repository: per folder, flow-100 plus the rows that folder added."""
import json, glob, os, re
out = "videos/bench/PushTKeypoints-v0-kp400-s34/extra"
for f in sorted(glob.glob("runs/b34*/samplers.json")):
    name = f.split("/")[1][3:]  # e.g. mid0_700000
    d = json.load(open(f))
    if name.startswith("lat"):
        keep = d["rows"]
    elif name.startswith("ref"):
        keep = [r for r in d["rows"] if r["name"] in ("flow100-t0.8", "student1-t0.8")]
    else:  # a copy of a ref folder (or of stop 30's rows) plus the row this bench call added
        keep = [r for r in d["rows"] if r["name"] in ("student2-t0.8", "draft-student1-flow1-at0.05-t0.8")]
    d["rows"] = keep
    json.dump(d, open(f"{out}/{name}.json", "w"), indent=1)
    print(name, [r["name"] for r in keep])
