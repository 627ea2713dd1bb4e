"""Stop 39 probe: a uniform weight average ("soup") of students fine-tuned from the same draft.
usage: soup_probe.py OUT IN1 IN2 [...]   (copies IN1's files, replaces model.safetensors by the mean)"""
import json, shutil, sys
from pathlib import Path
import torch
from safetensors.torch import load_file, save_file

out, ins = Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]]
states = [load_file(p / "model.safetensors") for p in ins]
assert all(s.keys() == states[0].keys() for s in states)
mean = {k: (torch.stack([s[k].double() for s in states]).mean(0).to(states[0][k].dtype)
            if states[0][k].is_floating_point() else states[0][k]) for k in states[0]}
shutil.rmtree(out, ignore_errors=True)
shutil.copytree(ins[0], out)
save_file(mean, out / "model.safetensors")
cfg = json.loads((out / "config.json").read_text())
cfg.setdefault("extra", {})["soup"] = [str(p) for p in ins]
(out / "config.json").write_text(json.dumps(cfg, indent=2))
print(out, "mean of", len(ins))
