"""stop 41: the bench's cost-model measurement of the traced teacher at the start of a bare process, after
3000 batch-8 calls of the same network (a success pass's shape), and after loading and running a second
traced network (the stop-38 fold). One thread, alone on the CPU.
usage: python cm_after_batch8.py
"""
import torch, time
from parapolicy.policies import load_policy
from parapolicy.scripts.bench import measure_cost_model
torch.set_num_threads(1)
pol = load_policy("runs/pusht_kp400/checkpoint").eval().trace_inference()
H, Da = pol.config.pred_horizon, pol.config.action_dim
cond_dim = int(pol.encode_obs(torch.zeros(1, pol.config.obs_horizon, pol.config.obs_dim)).shape[-1])
def m(tag):
    cm = measure_cost_model(pol.denoiser, (H, Da), cond_dim, rounds=30)
    print(tag, "cold %.3f warm %.3f steady %.3f" % (cm.latency_s[1]*1e3, cm.warm_latency_s[1]*1e3, cm.steady_latency_s[1]*1e3), flush=True)
m("start")
with torch.no_grad():
    x, c = torch.randn(8, H, Da), torch.randn(8, cond_dim)
    for _ in range(3000):
        pol.denoiser(x, torch.full((8,), 0.5), c)
m("after 3000 batch-8 calls")
stu = load_policy("runs/pusht_kp400/student1_rho_fold2at0.1_ex100").eval().trace_inference()
with torch.no_grad():
    for _ in range(500):
        stu.denoiser(x[:1], torch.full((1,), 1.0), c[:1])
m("after loading+running a student")
