"""Stop 40: is the fold's remaining error a systematic bias that a per-position affine map removes?

On 4096 histories of `student1_rho`'s bank, with noise z ~ N(0, 0.8²), compares the stop-38 fold's
1-step x0 with the same fold finished by one teacher call at 0.05 (the 0.976x pair) on the same z. Per
chunk position and action dimension it fits target ≈ a·x0 + b by least squares on half the rows and
reports the slope, the offset and the RMSE of the remaining half before and after the map, at the
executed positions (1-3) and over the chunk."""
import torch

from parapolicy.planners.menu import build_item, load_students, make_context
from parapolicy.policies import load_policy
from parapolicy.scripts.distill import read_bank

torch.manual_seed(0)
torch.set_num_threads(2)
K = "runs/pusht_kp400"
teacher = load_policy(f"{K}/checkpoint")
teacher.trace_inference()
students = load_students([f"{K}/student1_rho_fold2at0.1_ex100"], teacher)
ctx = make_context(teacher, student=students, seed=0)
obs = read_bank(f"{K}/student1_rho")[0]["obs"]
idx = torch.randperm(obs.shape[0])[:4096]
hist = obs[idx].float()  # (N, To, Do)
cfg = teacher.config
H, Da = cfg.pred_horizon, cfg.action_dim
items = {s: build_item(s, ctx) for s in ("student1-t0.8", "draft-student1-flow1-at0.05-t0.8")}
z = 0.8 * torch.randn(hist.shape[0], H, Da)  # (N, H, Da)
out = {}
with torch.no_grad():
    cond = teacher.encode_obs(hist)  # (N, Dc)
    for s, it in items.items():
        noises = torch.zeros(it.sampler.num_steps, hist.shape[0], H, Da)
        out[s] = it.sampler.sample(it.denoiser, cond, x_init=z.clone(), noises=noises).x0  # (N, H, Da)
x0, tgt = out["student1-t0.8"], out["draft-student1-flow1-at0.05-t0.8"]
n = x0.shape[0] // 2
fit_x, fit_y, ev_x, ev_y = x0[:n], tgt[:n], x0[n:], tgt[n:]
a = torch.ones(H, Da)
b = torch.zeros(H, Da)
for h in range(H):
    for d in range(Da):
        X = torch.stack([fit_x[:, h, d], torch.ones(n)], 1)  # (n, 2)
        sol = torch.linalg.lstsq(X, fit_y[:, h, d:d + 1]).solution  # (2, 1)
        a[h, d], b[h, d] = sol[0, 0], sol[1, 0]
mapped = a * ev_x + b  # (N/2, H, Da)


def rmse(p, q, sl=slice(None)):
    return float((p[:, sl] - q[:, sl]).pow(2).mean().sqrt())


print("slopes at the executed positions:", [[round(float(v), 4) for v in row] for row in a[1:4]])
print("offsets at the executed positions:", [[round(float(v), 4) for v in row] for row in b[1:4]])
print(f"slope over the chunk: mean {float(a.mean()):.4f}, min {float(a.min()):.4f}, max {float(a.max()):.4f}")
print(f"held-out RMSE to the pair, executed positions: fold {rmse(ev_x, ev_y, slice(1, 4)):.5f}, "
      f"mapped {rmse(mapped, ev_y, slice(1, 4)):.5f}; chunk: fold {rmse(ev_x, ev_y):.5f}, mapped {rmse(mapped, ev_y):.5f}")
print(f"mean signed error (pair - fold) at the executed positions: {[round(float(v), 5) for v in (ev_y - ev_x)[:, 1:4].mean((0, 1))]}")
