"""torch.profiler operator table of 200 traced teacher calls at batch 1, one thread (stop 34).
Output: op_profile.out.

    MUJOCO_GL=egl .venv/bin/python videos/bench/PushTKeypoints-v0-kp400-s34/extra/probes/op_profile.py
"""
import copy, warnings, torch
from torch.profiler import profile, ProfilerActivity
from parapolicy.planners.menu import load_students
from parapolicy.policies.checkpoint import load_policy
torch.set_num_threads(1); warnings.simplefilter("ignore")
K = "runs/pusht_kp400"
pol = load_policy(f"{K}/checkpoint"); pol.eval()
print(pol.config.network if hasattr(pol.config,'network') else {k: getattr(pol.config,k) for k in ("denoiser","down_dims","kernel_size","mid_blocks") if hasattr(pol.config,k)})
x = torch.randn(1, 16, 2); c = torch.randn(1, pol.config.obs_horizon*pol.config.obs_dim); t = torch.full((1,),100.)
n = copy.deepcopy(pol.inference_net).eval()
with torch.no_grad():
    tr = torch.jit.freeze(torch.jit.trace(n, (x, t, c), check_trace=False))
    for _ in range(50): tr(x,t,c)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(200): tr(x,t,c)
print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25))
