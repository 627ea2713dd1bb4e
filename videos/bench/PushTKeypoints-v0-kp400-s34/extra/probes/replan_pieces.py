"""What a 2-step finisher student's batch-1 replan spends outside its two network calls (traced, one
thread; stop 34): each piece of RealtimePlanner.plan_chunk timed alone. Output: replan_pieces.out.

    MUJOCO_GL=egl .venv/bin/python videos/bench/PushTKeypoints-v0-kp400-s34/extra/probes/replan_pieces.py
"""
import time, numpy as np, torch
from parapolicy.planners.menu import build_planner, load_students
from parapolicy.planners.base import Budget
from parapolicy.policies.checkpoint import load_policy
from parapolicy.policies.sampling import denoise
torch.set_num_threads(1)
K = "runs/pusht_kp400"
pol = load_policy(f"{K}/checkpoint"); pol.eval(); pol.trace_inference()
studs = load_students([f"{K}/student2_fin_mid0"], pol)
for s in studs.values(): s.eval(); s.trace_inference()
obs = (np.random.default_rng(0).normal(size=(1, pol.obs_horizon, pol.config.obs_dim)) * 50 + 256).astype(np.float32)
p = build_planner(pol, planner="chunked", menu=["student2-t0.8"], student=studs)
item = p.menu[0]; sampler = item.sampler; den = item.denoiser
g = torch.Generator().manual_seed(0)
obs_t = torch.as_tensor(obs); cond = pol.encode_obs(obs_t); x = torch.randn(1,16,2)
noises = torch.zeros(2,1,16,2)
s2 = list(studs.values())[0]
def T(f, n=3000):
    for _ in range(100): f()
    a = time.perf_counter()
    for _ in range(n): f()
    return (time.perf_counter()-a)/n*1e6
nullden = lambda x, t, c: x
with torch.no_grad():
    r = {}
    r["as_tensor+encode"] = T(lambda: pol.encode_obs(torch.as_tensor(obs, dtype=torch.float32)))
    r["randn+zeros"] = T(lambda: (torch.randn((1,16,2), generator=g), torch.zeros((2,1,16,2))))
    r["sampler.sample null den"] = T(lambda: sampler.sample(nullden, cond, x_init=x, budget=Budget(wall_s=1.0), noises=noises))
    r["denoise null den"] = T(lambda: denoise(nullden, sampler.schedule, x, cond, sampler.timesteps, noises=noises))
    r["den wrapper route only"] = T(lambda: den(x, torch.ones(1), cond)) 
    r["unnorm+numpy"] = T(lambda: pol.unnormalize_action(x).detach().cpu().numpy().astype(np.float32))
    r["predict"] = T(lambda: p.predict(item, 1))
    r["full plan_chunk"] = T(lambda: p.plan_chunk(obs, item=item), 1000)
    r["den call t=1"] = T(lambda: den(x, torch.ones(1), cond), 1000)
    r["den call t=.05"] = T(lambda: den(x, torch.full((1,),0.05), cond), 1000)
for k, v in r.items(): print(f"{k:28s} {v:8.1f} us")
print(type(den), den)
