"""Do cheap offline errors rank the 1-step Push-T students as their success does? (stop 38)

Stops 23-37 found that the held-out x0 error against the teacher's chain does not rank students by
success. This probe computes, for each 1-step student of the stop-36 teacher, four errors on the same
histories and noise, and prints them beside the student's nine-set success:

- ``chain``: RMSE of the student's x0 to the teacher's 20-step ρ = 2 chain from the same noise (the
  distillation label), over the whole chunk and at the executed positions 1-3 (Ta = 3 after To = 2);
- ``self``: how far one teacher finish at t = 0.05 moves the student's x0 (the fold's
  ``self_finish_rmse``: 0 for a sample the teacher would not change), whole chunk and executed.

Histories: 2048 drawn (seed 0) from the replans of 100 fresh rollouts of the teacher's AB2-4 sampler
(`flow4-rho2-ab2-t0.8`, Ta = 3, seeds 9,000,000…, in no student's bank): the states a good closed-loop
policy visits. (A first run drew them from the teacher rollouts in student1_tr's bank, its own training
histories, which flattered it.) Noise N(0, 0.8²·I), one draw per history, seed 1.

    .venv/bin/python videos/bench/PushTKeypoints-v0-kp400-s38/extra/probes/rank_metrics.py
"""
import torch

from parapolicy.planners.menu import build_planner
from parapolicy.planners.onpolicy_distill import planner_histories
from parapolicy.planners.student import teacher_trajectories
from parapolicy.policies.checkpoint import load_policy
from parapolicy.scripts.common import EnvConfig

torch.set_num_threads(1)
K, TM, T, EX = "runs/pusht_kp400", 0.05, 0.8, slice(1, 4)
# nine-set success at Ta = 3, T = 0.8 (pooled37.out, pooled38.out)
STUDENTS = {"student1_rho": 0.517, "student1_tr": 0.521, "student1_rho_fold": 0.553,
            "student1_rho_fold_m6": 0.538, "student1_rho_fold_ex10": 0.601, "student1_rho_fold_m6ex10": 0.602,
            "student1_rho_fold_ex100": 0.636,
            "student1_rho_fold_ex1000": 0.610, "student1_rho_fold_ex100b": 0.604}
teacher = load_policy(f"{K}/checkpoint").eval()
planner = build_planner(teacher, planner="chunked", menu=["flow4-rho2-ab2-t0.8"], seed=9_000_000, execute_every=3)
bank, res = planner_histories(planner, EnvConfig(id="PushTKeypoints-v0").make, episodes=100, num_envs=8,
                              seed=9_000_000)  # (M, To, Do) raw
print(f"{bank.shape[0]} histories from 100 AB2-4 episodes, success {sum(r.success for r in res[:100]) / 100:.2f}")
g = torch.Generator().manual_seed(0)
obs = bank[torch.randperm(bank.shape[0], generator=g)[:2048]]  # (n, To, Do)
cond = teacher.encode_obs(obs)  # (n, Dc)
z = torch.randn((obs.shape[0], 16, 2), generator=torch.Generator().manual_seed(1)) * T  # (n, H, Da)
ts = (1 - torch.linspace(0, 1, 21)).pow(2.0)  # (21,) the teacher's ρ = 2 grid
with torch.no_grad():
    _, label = teacher_trajectories(teacher, obs, z, ts, torch.tensor([1.0, 0.0]))  # (n, H, Da)


def finish(x):  # the teacher's one Euler step to 0 from x re-noised to t_m with the same z
    x_m = TM * z + (1 - TM) * x
    return x_m - TM * teacher.denoiser(x_m, torch.full((x.shape[0],), TM), cond)


def rmse(a, b):
    return float((a - b).pow(2).mean().sqrt())


print(f"{'student':28s} {'chain':>7s} {'chain@ex':>8s} {'self':>7s} {'self@ex':>8s}  success (9 sets)")
for name, success in STUDENTS.items():
    st = load_policy(f"{K}/{name}").eval()
    with torch.no_grad():
        x0 = z - st.denoiser(z, torch.ones(z.shape[0]), cond)  # (n, H, Da) one flow step from t = 1
        f = finish(x0)
    print(f"{name:28s} {rmse(x0, label):7.4f} {rmse(x0[:, EX], label[:, EX]):8.4f} {rmse(x0, f):7.4f} "
          f"{rmse(x0[:, EX], f[:, EX]):8.4f}  {success if success is not None else '-'}", flush=True)
