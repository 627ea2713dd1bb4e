"""What the teacher's one-step finish changes in the 1-step student's draft (stop 33).

delta = the teacher's one Euler step from the draft re-noised to t = 0.05 (same noise), minus the draft's
x0, on 1024 histories of student1_tr's bank: its size, how much of it is the re-noising noise, its size
per chunk index, how much two noise draws for the same history share, and its DCT spectrum along the
chunk; then ridge regressions of delta on (draft x0, condition) and on (draft x0, condition, noise),
fit on 40,000 and tested on 4,096 other histories.

    MUJOCO_GL=egl .venv/bin/python videos/bench/PushTKeypoints-v0-kp400-s33/extra/probes/finish_delta.py
"""
import math

import torch

from parapolicy.planners.finisher import FinisherFit
from parapolicy.policies import load_policy
from parapolicy.scripts.distill import read_bank

torch.set_num_threads(1)
K = "runs/pusht_kp400"
teacher, draft = load_policy(f"{K}/checkpoint"), load_policy(f"{K}/student1_tr")
bank = read_bank(f"{K}/student1_tr")[0]["obs"]  # (M, To, Do) raw
perm = torch.randperm(bank.shape[0], generator=torch.Generator().manual_seed(1))
fit = FinisherFit(teacher, draft, 0.05, temperature=0.8)


def pairs(idx, seed):
    """(draft x0, condition, noise, delta) flattened, for histories ``idx``."""
    g = torch.Generator().manual_seed(seed)
    out = [[], [], [], []]
    for i in range(0, len(idx), 2048):
        with torch.no_grad():
            cond, xh, xm, tgt = fit.pair(bank[idx[i:i + 2048]], g)
        for lst, v in zip(out, (xh, cond, (xm - 0.95 * xh) / 0.05, tgt - xh)):
            lst.append(v.reshape(v.shape[0], -1))
    return [torch.cat(v) for v in out]


with torch.no_grad():
    obs = bank[perm[:1024]]
    cond, xh, xm, tgt = fit.pair(obs, torch.Generator().manual_seed(3))
    z = (xm - 0.95 * xh) / 0.05
    d = tgt - xh  # (n, H, Da)
    u = 0.05 * (z - xh)
    c = float((d * u).sum() / (u * u).sum())
    print(f"delta RMSE {d.pow(2).mean().sqrt():.4f}; its coefficient on the re-noising 0.05(z - x0) {c:.4f}, "
          f"residual RMSE {(d - c * u).pow(2).mean().sqrt():.4f}")
    print("delta RMSE per chunk index", d.pow(2).mean(dim=(0, 2)).sqrt().numpy().round(4).tolist())
    _, xh2, _, tgt2 = fit.pair(obs, torch.Generator().manual_seed(4))
    d2 = tgt2 - xh2
    print(f"cosine of delta under two noise draws, same histories {float((d * d2).sum() / (d.norm() * d2.norm())):.3f}")
    H = d.shape[1]
    n = torch.arange(H).float()
    C = torch.cos(math.pi / H * (n[None, :] + 0.5) * n[:, None])  # (K, H) DCT-II rows
    C = C / C.norm(dim=1, keepdim=True)
    e = torch.einsum("kh,bhd->bkd", C, d).pow(2).mean(dim=(0, 2))
    print("delta energy share by DCT frequency", (e / e.sum()).numpy().round(3).tolist())

xtr, ctr, ztr, ytr = pairs(perm[:40000], 1)
xte, cte, zte, yte = pairs(perm[-4096:], 2)
one_tr, one_te = torch.ones(len(xtr), 1), torch.ones(len(xte), 1)
print(f"held-out delta RMSE {yte.pow(2).mean().sqrt():.4f}")
for name, a, b in (("draft x0 + condition", torch.cat([xtr, ctr, one_tr], 1), torch.cat([xte, cte, one_te], 1)),
                   ("draft x0 + condition + noise", torch.cat([xtr, ctr, ztr, one_tr], 1),
                    torch.cat([xte, cte, zte, one_te], 1))):
    w = torch.linalg.solve(a.T @ a + 1e-3 * torch.eye(a.shape[1]), a.T @ ytr)
    print(f"ridge on {name}: held-out residual RMSE {(yte - b @ w).pow(2).mean().sqrt():.4f}")
