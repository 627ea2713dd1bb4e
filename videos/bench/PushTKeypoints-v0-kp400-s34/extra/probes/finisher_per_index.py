"""Per-index RMSE of finisher students after student1_tr's draft against the teacher's one-step finish from t = 0.05
(stop 34; 4096 held-out demonstration histories, four noise draws at T = 0.8).

    .venv/bin/python finisher_per_index.py student2_fin_mid0 student2_fin_lb1m2 student2_fin_lb1m1_9k
"""
import sys, json
import torch
from parapolicy.policies.checkpoint import load_policy, read_checkpoint_config
from parapolicy.scripts.finish import FinishConfig, _histories
torch.set_num_threads(2)
K = "runs/pusht_kp400"
teacher = load_policy(f"{K}/checkpoint"); teacher.eval()
draft = load_policy(f"{K}/student1_tr"); draft.eval()
cfg = FinishConfig(checkpoint=f"{K}/checkpoint", draft=f"{K}/student1_tr")
_, meta = read_checkpoint_config(cfg.draft)
dex = (meta.get("extra") or {}).get("distill") or {}
_, held, _, _ = _histories(cfg, teacher, dex)
n = min(len(held), 4096)
idx = torch.randperm(len(held), generator=torch.Generator().manual_seed(123))[:n]
obs = teacher.normalizer.unnormalize("obs", held.get_batch(idx)["obs"])
T, L = 0.8, 0.05
off, Ta = teacher.action_offset, 3
names = sys.argv[1:]
fins = {nm: load_policy(f"{K}/{nm}").eval() for nm in names}
res = {nm: torch.zeros(16) for nm in ["draft", *names]}
draws = 4
with torch.no_grad():
    cond = teacher.encode_obs(obs)
    b = obs.shape[0]; one = torch.ones(b)
    for d in range(draws):
        z = torch.randn((b, 16, 2), generator=torch.Generator().manual_seed(1000 + d)) * T
        xh = z - draft.denoiser(z, one, cond)
        xm = L * z + (1 - L) * xh
        tgt = xm - L * teacher.denoiser(xm, one * L, cond)
        res["draft"] += (xh - tgt).pow(2).mean(dim=(0, 2)) / draws
        for nm, f in fins.items():
            out = xm - L * f.denoiser(xm, one * L, cond)
            res[nm] += (out - tgt).pow(2).mean(dim=(0, 2)) / draws
print(f"{n} held-out histories x {draws} noise draws; executed indices {off}..{off+Ta-1}")
for nm, v in res.items():
    print(f"{nm:24s} all {float(v.mean().sqrt()):.4f}  executed {float(v[off:off+Ta].mean().sqrt()):.4f}  "
          f"first8 {float(v[:8].mean().sqrt()):.4f}  per-index " + " ".join(f"{float(x.sqrt())*1e3:.1f}" for x in v))
