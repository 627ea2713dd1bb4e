"""Batch-1 cost of candidate finisher networks, randomly initialised, one thread, interleaved rounds (stop 32).

    .venv/bin/python videos/bench/PushTKeypoints-v0-kp400-s32/extra/probes/network_sizes.py
"""
import time, dataclasses, numpy as np, torch
from parapolicy.policies.checkpoint import load_policy
from parapolicy.policies.networks import make_network
torch.set_num_threads(1)
pol=load_policy("runs/pusht_kp400/checkpoint"); cfg=pol.config
cands={"teacher":{}, "mid0":{"mid_blocks":0}, "d2_mid1":{"down_dims":(32,64),"mid_blocks":1},"d2_mid0":{"down_dims":(32,64),"mid_blocks":0},
 "d1_mid1":{"down_dims":(64,),"mid_blocks":1},
 "mlp256x3":{"denoiser":"mlp","mlp_width":256,"mlp_blocks":3},"mlp512x2":{"denoiser":"mlp","mlp_width":512,"mlp_blocks":2}}
nets={}
for k,o in cands.items():
    try:
        n=make_network(dataclasses.replace(cfg,**o)).eval(); nets[k]=n
    except Exception as e: print(k,"ERR",e)
x=torch.randn(1,16,2); t=torch.tensor([5.0]); c=torch.randn(1,36)
T={k:[] for k in nets}
with torch.no_grad():
  for k,n in nets.items():
      for _ in range(20): n(x,t,c)
  for r in range(30):
    for k,n in nets.items():
      for _ in range(20):
        a=time.perf_counter(); n(x,t,c); T[k].append(time.perf_counter()-a)
for k,v in T.items(): print(k, sum(p.numel() for p in nets[k].parameters()), "p50 %.3f ms"%(np.median(v)*1e3))
