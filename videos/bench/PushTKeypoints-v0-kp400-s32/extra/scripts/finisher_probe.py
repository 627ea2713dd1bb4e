import sys, time, torch
from parapolicy.policies import load_policy, save_checkpoint
from parapolicy.planners.finisher import FinisherFit
from parapolicy.scripts.distill import read_bank
torch.set_num_threads(1)
K="runs/pusht_kp400"
steps=int(sys.argv[1]); out=sys.argv[2]; net=eval(sys.argv[3]) if len(sys.argv)>3 else {"mid_blocks":0}
teacher=load_policy(f"{K}/checkpoint"); draft=load_policy(f"{K}/student1_tr")
obs=read_bank(f"{K}/student1_tr")[0]["obs"]
print(obs.shape)
g=torch.Generator().manual_seed(1); perm=torch.randperm(obs.shape[0],generator=g)
held, train = obs[perm[:512]], obs[perm[512:]]
fit=FinisherFit(teacher, draft, 0.05, net=net, teacher_path=str(teacher.config.teacher or f"{K}/checkpoint"), batch_size=512, lr=3e-4, temperature=0.8)
print("shared", fit.shared_tensors, "params", sum(p.numel() for p in fit.params))
print("before", fit.error(held))
t=time.perf_counter()
fit.train(train, steps, log=lambda i,l: print(i,l,flush=True) if i%250==0 else None)
print("train s", time.perf_counter()-t)
print("after", fit.error(held))
save_checkpoint(fit.result(), out, overwrite=True)
