"""Stop 40: an output ensemble of 1-step students, benched like stop 37's bench37_st.sh.

The student row runs the first student's sampler, but its network call returns the mean of every
listed student's network output for the same input (same noise z): a prediction ensemble, not a weight
soup. Each member is traced as the bench traces students.

    python ens_bench.py <tag> <student dir>,<student dir>[,...] [seed sets]
writes runs/b37<tag>_<seed>/ (copies of runs/b36ref_<seed>, flow-100 kept) like bench37_st.sh.
"""
import os
import shutil
import sys

os.environ.setdefault("MUJOCO_GL", "egl")
import torch
from torch import nn

import parapolicy.planners.menu as menu
from parapolicy.scripts.bench import BenchConfig, run_bench

tag, paths = sys.argv[1], sys.argv[2].split(",")
sets = (sys.argv[3] if len(sys.argv) > 3 else "100000 300000 500000").split()
_load = menu.load_students


class MeanNet(nn.Module):
    """Mean of several denoiser networks' outputs for one input."""

    def __init__(self, nets):
        super().__init__()
        self.nets = list(nets)

    def forward(self, x, t, cond):  # (B, H, Da)
        out = self.nets[0](x, t, cond)
        for n in self.nets[1:]:
            out = out + n(x, t, cond)
        return out / len(self.nets)


def load_ensemble(_paths, teacher, *, device="cpu"):
    members = [_load([p], teacher, device=device)[1] for p in paths]
    lead = members[0]
    lead.__dict__["_traced"] = MeanNet([m.__dict__["_traced"] for m in members])
    return {1: lead}


menu.load_students = load_ensemble
torch.set_num_threads(1)
for s in sets:
    d = f"runs/b37{tag}_{s}"
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(f"runs/b36ref_{s}", d)
    cfg = BenchConfig(checkpoint="runs/pusht_kp400/checkpoint", sections=["samplers"],
                      samplers_reference="flow100-t0.8", action_horizon=3, episodes=100, num_envs=8, threads=1,
                      jit=True, students=[paths[0]], rows=["student1-t0.8"], seed=int(s), out_dir=d, progress=False)
    res = run_bench(cfg)
    row = [r for r in res["samplers"]["rows"] if r["name"] == "student1-t0.8"][0]
    print(tag, s, "success", row["success_rate"], flush=True)
