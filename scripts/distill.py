"""``parapolicy-distill``: distill a 1–8 step student from a trained diffusion-policy teacher.

    parapolicy-distill checkpoint=runs/train/<time>/checkpoint steps=2000 student_steps=1
    parapolicy-distill checkpoint=… steps=3000 student_steps=2 dataset=runs/data/Fork-v0.hdf5 out=runs/fork_s2
    parapolicy-distill checkpoint=… init_student=runs/…/student2 steps=0 onpolicy_rounds=3 onpolicy_episodes=100 \
        onpolicy_steps=1500 out=runs/…/student2_onpolicy

Method: ``parapolicy.planners.student.distill`` (one-stage step distillation of the teacher's
deterministic sampler; see that module for why). The observations come from demonstrations — by
default the dataset the teacher was trained on (recorded in its run's ``train_summary.json``), else
``runs/data/<env>.hdf5``, else the dataset shipped with the package. A tenth of the episodes (at least
one) is held out of the distillation bank to report the student's x0 error against the teacher; the
same error on training histories with fresh noise is reported beside it (how much of the gap is
overfitting to the bank's states, how much to its noise draws).

``onpolicy_rounds=R`` adds R rounds of on-policy distillation (``planners.onpolicy_distill``): the
student is rolled out in the teacher's task, the histories it replanned at are labelled by the teacher
and added to the bank, and it trains ``onpolicy_steps`` more iterations on the whole bank.
``label_repeats=k`` labels each visited history k times, with independent noise (more of the teacher's
noise → chunk map per state; cheap on a GPU), and a ``bank_size`` larger than the demonstration windows
likewise labels windows again with fresh noise; ``label_batch`` is the teacher's batch while labelling.
``inner_levels=[…]`` places the student's N - 1 middle levels (flow time, or DDPM training level)
instead of spacing them evenly, and ``loss_space=landing`` weights each step's x0 error by the square
of its gain on where the step lands (``planners.student.StudentFit``); neither moved the Push-T
student beyond the noise of its benchmark (videos/bench/pusht_student.md).
``teacher_steps=K teacher_time_power=ρ`` (flow teachers) labels with K Euler steps at times (1 - k/K)^ρ:
ρ = 2 packs them toward the data end, where the Push-T flow bends: there 20 such steps land as close to
the converged ODE as 100 uniform ones (x0 RMSE 0.0028 against 0.0024) at a fifth of the labelling cost
(videos/bench/pusht_student.md).
``teacher_rollouts=E`` rolls the *teacher* out for E episodes from fresh seeds (``teacher_rollout_seed``
…) with the menu sampler ``teacher_rollout_spec`` (``planners.menu``; null: the teacher's own sampler)
replanning every ``action_horizon`` actions, and adds the histories it replanned at, labelled
``label_repeats`` times each, to the bank before the ``steps`` iterations: on a task whose
demonstrations start from a few hundred initial states, the states a good policy passes through from
new ones (``planners.onpolicy_distill.planner_histories``; ``onpolicy_action_noise`` perturbs them too).
``onpolicy_action_noise=σ`` perturbs the actions those rollouts execute (DART), so the histories the
teacher labels also come from beside the student's path.
How the student fits its labels (``planners.student.StudentFit``): ``loss=pseudo_huber huber_c=c`` (a
robust per-chunk penalty), ``executed_weight=w`` (the Ta executed chunk positions weigh w),
``anchor=λ`` (L2-SP: weights pulled back toward the teacher's) and ``objective=reflow`` (straight
noise → endpoint lines at uniform t, rectified flow's reflow, flow teachers). On the 400-demo Push-T
student none moved success beyond the noise of 200 episodes (videos/bench/pusht_student.md).
``augment_size=M obs_noise=σ`` labels M more training histories after the bank (filled or continued),
each moved by N(0, σ²) per element in normalized observation units first: the teacher labels any
history, so the student is also fitted beside the demonstrations (``StudentFit.fill``).
``level_experts=true`` gives the student one network per step (``policies.experts``), each started
from the same weights (the teacher's, or ``init_student``'s single network); a step still costs one
network call, the checkpoint holds N networks. Neither of these two moved the 400-demo Push-T student
beyond the noise of 300 episodes either (videos/bench/pusht_student.md).
``init_student=`` continues an earlier student of the same teacher instead of starting from the
teacher's weights (``steps=0`` then skips the demonstrations-only round). ``save_bank=true`` keeps the
teacher-labelled bank in the student's checkpoint (``distill_bank.safetensors``, ~0.8 KB per history
for Push-T); a later ``init_student=`` of that student starts from that bank — demonstration and
on-policy histories alike — instead of relabelling ``bank_size`` demonstration histories.
``bank_from=`` takes that saved bank from another student of the same teacher without continuing its
network.
``student_net={…}`` gives the student a cheaper network than its teacher's, named by ``PolicyConfig``
network fields: ``{mid_blocks: 0}`` drops the U-Net's two bottleneck blocks, ``{denoiser: mlp,
mlp_width: 256}`` swaps in a residual MLP (``policies.mlp``). It starts fresh, then takes every tensor
of ``init_student`` (or the teacher) whose name and shape it shares, so the U-Net without its middle
keeps everything else (``StudentFit``'s ``net``); a larger one (``{mid_blocks: 6}``) starts as its
source, each added residual block as the identity. Two calls of the teacher's own network cost more than
a fiftieth of its hundred, whatever the student learns, so only a cheaper network takes a 2-step
student past 50×; on the Push-T keypoint student each one tried lost more success than it saved time
(videos/bench/pusht_student.md).

The student is saved with ``save_checkpoint`` (atomic; an existing ``out`` is refused unless
``overwrite=true``) beside the teacher by default (``<teacher dir>/../student<N>``); its config records
its timesteps and its ``teacher`` (the teacher's absolute path), and ``config.json``'s ``extra`` holds
the distillation settings, losses, held-out error and provenance.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from parapolicy.scripts.common import EnvConfig, UserError, hydra_app, loss_progress, provenance

DEVICES = ("auto", "cpu", "cuda")


@dataclass
class DistillConfig:
    """Config of ``parapolicy-distill``."""

    checkpoint: str = "???"  # the teacher checkpoint directory
    steps: int = 2000  # student training iterations on the demonstration bank (0: none; needs init_student)
    student_steps: int = 1  # N sampling steps of the student (1..8)
    loss_space: str = "x0"  # x0 | landing: each step's error in x0 space, or where it lands (A_n²-weighted)
    # mse | pseudo_huber: a chunk's penalty (pseudo-Huber: linear above huber_c, robust to mode jumps)
    loss: str = "mse"
    huber_c: float = 0.003  # pseudo-Huber's knee, in RMS x0 error per chunk (normalized action units)
    executed_weight: float = 1.0  # loss weight of the Ta chunk positions a replan executes (the rest: 1)
    # trajectory | reflow (flow teachers: straight lines between the bank's noise and endpoints)
    objective: str = "trajectory"
    reflow_uniform: float = 0.5  # reflow: share of training rows at uniform t (the rest at the student's levels)
    anchor: float = 0.0  # L2-SP: each step pulls the weights a fraction lr·anchor back toward the teacher's
    level_experts: bool = False  # one network per student step (eDiff-I's expert denoisers), same cost per step
    student_net: Any = None  # null: the teacher's (or init_student's) network; else its own, e.g. {mid_blocks: 1}
    # the student's N-1 levels between noise and clean (null: evenly spaced, or init_student's)
    inner_levels: Any = None
    dataset: Any = None  # a path or list of paths; null: the teacher's training dataset (module docstring)
    out: str | None = None  # null: <teacher dir>/../student<N>
    overwrite: bool = False
    teacher_steps: int | None = None  # the teacher's deterministic sampler steps (null: its own)
    teacher_time_power: float = 1.0  # flow teachers: those steps at times (1 - k/K)^rho (needs teacher_steps)
    bank_size: int = 2048  # observation histories labelled by the teacher
    augment_size: int = 0  # then this many more training histories, moved by obs_noise before labelling
    obs_noise: float = 0.0  # σ of those moves, per element in normalized observation units ([-1, 1])
    batch_size: int = 256
    lr: float = 1e-4
    heldout_samples: int = 256  # held-out histories for the x0-error report
    temperature: float = 1.0  # initial noise N(0, T²·I) of the teacher's labels; sample the student at the same T
    init_student: str | None = None  # an earlier student of this teacher to continue (null: teacher's weights)
    bank_from: str | None = None  # a student of this teacher whose saved bank to train on (null: init_student's)
    onpolicy_rounds: int = 0  # rounds of on-policy distillation after the demonstration round
    onpolicy_episodes: int = 50  # student rollouts per round
    onpolicy_steps: int = 1000  # training iterations per round, on the whole bank
    onpolicy_num_envs: int = 8
    onpolicy_seed: int = 200_000  # round r rolls out from seeds onpolicy_seed + r·onpolicy_episodes …
    onpolicy_action_noise: float = 0.0  # DART in the student's rollouts: executed actions + N(0, (σ·half-range)²)
    teacher_rollouts: int = 0  # teacher episodes whose replanning histories join the bank before training
    teacher_rollout_spec: str | None = None  # their planner menu sampler (null: the teacher's own)
    teacher_rollout_seed: int = 5_000_000  # episode j from seed teacher_rollout_seed + j
    action_horizon: int | None = None  # Ta of the rollouts (null: the teacher's)
    label_repeats: int = 1  # teacher labels (independent noise draws) per on-policy history
    label_batch: int = 1024  # histories per batched teacher labelling pass (larger suits a GPU)
    save_bank: bool = False  # keep the labelled bank in the student's checkpoint (distill_bank.safetensors)
    seed: int = 0
    device: str = "auto"
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("bank_size", "batch_size", "heldout_samples", "onpolicy_episodes", "onpolicy_steps",
                     "onpolicy_num_envs", "label_repeats", "label_batch"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        for name in ("steps", "onpolicy_rounds", "onpolicy_seed", "augment_size", "teacher_rollouts",
                     "teacher_rollout_seed"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {v!r}")
        from parapolicy.planners.student import LOSS_SPACES, check_fit_options, check_number, check_student_net

        if check_number("obs_noise", self.obs_noise, 0) > 0 and self.augment_size == 0:
            raise ValueError("obs_noise applies to the augment_size extra histories; give augment_size >= 1")
        if self.student_net is not None:
            self.student_net = check_student_net(self.student_net, "student_net")
            if self.anchor:
                raise ValueError("anchor pulls the student toward the teacher's weights; a student_net has none")
        if not isinstance(self.level_experts, bool):
            raise ValueError(f"level_experts must be true or false, got {self.level_experts!r}")
        if self.teacher_rollout_spec is not None:
            from parapolicy.planners.menu import parse_spec

            if not self.teacher_rollouts:
                raise ValueError("teacher_rollout_spec names the teacher rollouts' sampler; give teacher_rollouts >= 1")
            if parse_spec(self.teacher_rollout_spec).needs_student:
                raise ValueError(f"teacher_rollout_spec={self.teacher_rollout_spec} needs a student; use a teacher "
                                 "sampler")
        if self.teacher_rollouts and self.steps == 0:
            raise ValueError("teacher_rollouts label histories for the steps iterations; give steps >= 1")
        if self.steps == 0 and self.init_student is None:
            raise ValueError("steps=0 trains nothing on the demonstrations; it needs init_student= (a student to "
                             "continue)")
        if self.steps == 0 and self.onpolicy_rounds == 0:
            raise ValueError("steps=0 with onpolicy_rounds=0 trains nothing; give steps >= 1 or onpolicy_rounds >= 1")
        noise = self.onpolicy_action_noise
        if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise <= 1:
            raise ValueError(f"onpolicy_action_noise must be a number in [0, 1], got {noise!r}")
        if self.action_horizon is not None and (isinstance(self.action_horizon, bool) or self.action_horizon < 1):
            raise ValueError(f"action_horizon must be null or an integer >= 1, got {self.action_horizon!r}")
        if self.init_student is not None and not Path(self.init_student).is_dir():
            raise FileNotFoundError(f"init_student checkpoint directory not found: {self.init_student}")
        if self.bank_from is not None and not (Path(self.bank_from) / BANK_FILE).is_file():
            raise FileNotFoundError(f"bank_from={self.bank_from} holds no saved bank ({BANK_FILE}; distill it with "
                                    "save_bank=true)")
        if isinstance(self.student_steps, bool) or not 1 <= self.student_steps <= 8:
            raise ValueError(f"student_steps must be an integer in [1, 8] (a few-step student), "
                             f"got {self.student_steps}")
        if self.teacher_steps is not None and self.teacher_steps < 1:
            raise ValueError(f"teacher_steps must be null or an integer >= 1, got {self.teacher_steps}")
        rho = self.teacher_time_power
        if isinstance(rho, bool) or not isinstance(rho, (int, float)) or not math.isfinite(rho) or rho <= 0:
            raise ValueError(f"teacher_time_power must be a number > 0, got {rho!r}")
        if rho != 1 and self.teacher_steps is None:
            raise ValueError("teacher_time_power needs teacher_steps (the number of Euler steps it places)")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a number > 0, got {self.lr!r}")
        from parapolicy.policies.sampling import check_temperature

        check_temperature(self.temperature)
        if self.loss_space not in LOSS_SPACES:
            raise ValueError(f"loss_space must be one of {', '.join(LOSS_SPACES)}, got {self.loss_space!r}")
        check_fit_options(self.loss, self.huber_c, self.executed_weight, self.anchor, self.objective,
                          self.reflow_uniform)
        if self.device not in DEVICES:
            raise ValueError(f"unknown device {self.device!r}; allowed: {', '.join(DEVICES)}")
        if not Path(self.checkpoint).is_dir():
            raise FileNotFoundError(f"teacher checkpoint directory not found: {self.checkpoint}")

    @property
    def out_path(self) -> Path:
        """Where the student goes."""
        if self.out:
            return Path(self.out)
        return Path(self.checkpoint).resolve().parent / f"student{self.student_steps}"


def check_teacher(path: str | Path) -> Any:
    """The teacher's ``PolicyConfig``; ``UserError`` for a student or a non-diffusion checkpoint."""
    from parapolicy.policies import read_checkpoint_config

    cfg, _ = read_checkpoint_config(path)
    if cfg.teacher is not None:
        raise UserError(f"{path} is a distilled student (teacher: {cfg.teacher}), not a teacher; pass the "
                        "teacher checkpoint")
    if cfg.kind != "diffusion":
        raise UserError(f"{path} is a {cfg.kind!r} policy; distillation needs a diffusion teacher")
    return cfg


def check_init_student(path: str | Path, teacher: str | Path, student_steps: int, level_experts: bool = False,
                       option: str = "init_student") -> None:
    """``UserError`` unless ``path`` is a ``student_steps``-step student distilled from ``teacher`` whose
    networks fit (a level-expert student continues only as one; a single network can seed experts).
    ``option`` names the argument in the messages."""
    from parapolicy.policies import read_checkpoint_config

    cfg, _ = read_checkpoint_config(path)
    if cfg.teacher is None:
        raise UserError(f"{option}={path} is not a distilled student (its config names no teacher)")
    if Path(cfg.teacher).resolve() != Path(teacher).resolve():
        raise UserError(f"{option}={path} was distilled from {cfg.teacher}, not from {Path(teacher).resolve()}")
    if cfg.num_inference_steps != student_steps:
        raise UserError(f"{option}={path} is a {cfg.num_inference_steps}-step student; student_steps="
                        f"{student_steps}")
    if cfg.level_experts and not level_experts:
        raise UserError(f"{option}={path} has one network per step; continue it with level_experts=true")


BANK_FILE = "distill_bank.safetensors"


def read_bank(student_dir: str | Path) -> tuple[dict[str, Any], dict[str, str]] | None:
    """The bank a student was saved with (``save_bank=true``): ``(tensors, metadata)``, or None."""
    from safetensors import safe_open

    path = Path(student_dir) / BANK_FILE
    if not path.is_file():
        return None
    with safe_open(str(path), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})


def _bank_with_split(fit: Any, split_seed: int) -> tuple[dict[str, Any], dict[str, str]]:
    """The fit's bank for saving, its metadata naming the demonstration split it was drawn from."""
    tensors, meta = fit.bank_tensors()
    return tensors, {**meta, "split_seed": str(split_seed)}


def teacher_dataset(checkpoint: str | Path, env_id: str) -> list[Path]:
    """The demonstration file(s) the teacher was trained on (``train_summary.json`` of its run) when
    they all still exist, else ``runs/data/<env>.hdf5`` or the packaged dataset (``train.default_dataset``)."""
    from parapolicy.scripts.train import dataset_paths, default_dataset

    summary = Path(checkpoint).resolve().parent / "train_summary.json"
    if summary.is_file():
        try:
            recorded = json.loads(summary.read_text()).get("dataset")
        except (OSError, json.JSONDecodeError):
            recorded = None
        try:
            files = dataset_paths(recorded) if recorded else []
        except UserError:
            files = []
        if files and all(p.is_file() for p in files):
            return files
    return [default_dataset(EnvConfig(id=env_id))]


class ObsBatches:
    """A re-iterable of shuffled dict batches ``{"obs": (B, To, Do) normalized, ...}`` from a
    ``ChunkDataset`` (what ``distill`` takes); each pass is a fresh seeded permutation."""

    def __init__(self, dataset: Any, batch_size: int, seed: int) -> None:
        import torch

        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        import torch

        perm = torch.randperm(len(self.dataset), generator=self.generator)  # (S,)
        for i in range(0, perm.numel(), self.batch_size):
            yield self.dataset.get_batch(perm[i:i + self.batch_size])


def split_demos(demos: Any, policy: Any, seed: int) -> tuple[Any, Any]:
    """(distillation ChunkDataset, held-out ChunkDataset): a tenth of the episodes (≥ 1) held out
    (with a single episode both use it). Windows use the teacher's horizons and normalizer."""
    import numpy as np

    from parapolicy.policies import ChunkDataset

    eps = list(demos.episodes)
    order = np.random.default_rng(seed).permutation(len(eps))
    n_hold = max(1, len(eps) // 10)
    hold = [eps[i] for i in order[:n_hold]]
    train = [eps[i] for i in order[n_hold:]] or hold
    cfg = policy.config

    def make(episodes: list[Any]) -> Any:
        return ChunkDataset([e.obs for e in episodes], [e.actions for e in episodes], obs_horizon=cfg.obs_horizon,
                            pred_horizon=cfg.pred_horizon, action_horizon=cfg.action_horizon,
                            normalizer=policy.normalizer)

    return make(train), make(hold)


def heldout_error(teacher: Any, student: Any, heldout: Any, *, teacher_steps: int | None, n: int,
                  seed: int, temperature: float = 1.0, teacher_time_power: float = 1.0) -> dict[str, float]:
    """RMS x0 error (normalized action units) on held-out histories, same initial noise: the student
    vs the teacher's deterministic sampler, and — for scale — the teacher's own network run with the
    student's few levels (where the student started). The initial noise is N(0, ``temperature``²·I)."""
    import torch

    from parapolicy.planners.base import Budget
    from parapolicy.planners.sequential import SequentialSampler
    from parapolicy.planners.student import deterministic_schedule, teacher_levels, teacher_trajectories

    g = torch.Generator().manual_seed(seed + 7)
    idx = torch.randperm(len(heldout), generator=g)[:n]
    obs = teacher.normalizer.unnormalize("obs", heldout.get_batch(idx)["obs"]).to(teacher.device)  # (n, To, Do) raw
    cfg = teacher.config
    x_T = torch.randn((obs.shape[0], cfg.pred_horizon, cfg.action_dim), generator=g).mul_(temperature)  # (n, H, Da)
    x_T = x_T.to(teacher.device)
    teacher_ts = teacher_levels(teacher, deterministic_schedule(teacher.train_schedule), teacher_steps,
                                teacher_time_power)
    s_ts = student.timesteps
    with torch.no_grad():
        _, x_teacher = teacher_trajectories(teacher, obs, x_T, teacher_ts.to(teacher.device), s_ts.to(teacher.device))
        sampler = SequentialSampler(student.schedule, s_ts)
        res = sampler.sample(student.denoiser, student.encode_obs(obs), x_init=x_T, budget=Budget())
        base = sampler.sample(teacher.denoiser, teacher.encode_obs(obs), x_init=x_T, budget=Budget())
    rmse = float((res.x0 - x_teacher).pow(2).mean().sqrt())
    base_rmse = float((base.x0 - x_teacher).pow(2).mean().sqrt())
    return {"student_rmse": rmse, "teacher_at_student_levels_rmse": base_rmse, "nfe": float(res.nfe),
            "depth": int(res.depth), "samples": int(obs.shape[0])}


def onpolicy_env_fn(env_id: str, action_noise: float = 0.0) -> Callable[[], Any]:
    """The task the student is rolled out in during on-policy rounds; with ``action_noise`` σ > 0 the
    executed actions are perturbed (``envs.ActionNoise``, DART), so the histories labelled come from
    around the student's path, not only on it."""
    make = EnvConfig(id=env_id).make
    if not action_noise:
        return make

    def noisy() -> Any:
        from parapolicy.envs.action_noise import ActionNoise

        return ActionNoise(make(), action_noise)

    return noisy


def _device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("device=cuda but no CUDA device is available")
    return name


def _inner_levels(cfg: DistillConfig, init: Any) -> list[float] | None:
    """The student's middle levels: ``inner_levels``, else a continued student's own."""
    if cfg.inner_levels is not None:
        return list(cfg.inner_levels)
    if init is not None and init.config.timesteps is not None:
        return list(init.config.timesteps[1:-1])
    return None


def distill_checkpoint(cfg: DistillConfig) -> dict[str, Any]:
    """Load the teacher and demos, distill, report, save the student; returns the summary."""
    from parapolicy.planners.onpolicy_distill import distill_on_policy
    from parapolicy.planners.student import StudentFit
    from parapolicy.policies import load_policy, save_checkpoint
    from parapolicy.scripts.train import dataset_paths, dataset_record, load_training_demos

    tcfg = check_teacher(cfg.checkpoint)
    out = cfg.out_path
    if out.exists() and not cfg.overwrite:
        raise FileExistsError(f"{out} already exists; pass overwrite=true to replace it")
    if cfg.init_student is not None:
        check_init_student(cfg.init_student, cfg.checkpoint, cfg.student_steps, cfg.level_experts)
    if cfg.bank_from is not None:
        check_init_student(cfg.bank_from, cfg.checkpoint, cfg.student_steps, True, option="bank_from")  # bank only
    teacher = load_policy(cfg.checkpoint, device=_device(cfg.device))
    rollout_planner = _rollout_planner(cfg, teacher) if cfg.teacher_rollouts else None
    init = load_policy(cfg.init_student, device=teacher.device) if cfg.init_student is not None else None
    net = cfg.student_net
    if net is None and init is not None:  # continue the initial student's own network
        from parapolicy.policies.config import NETWORK_FIELDS

        net = {f: getattr(init.config, f) for f in NETWORK_FIELDS}
    env_fn = None
    if cfg.onpolicy_rounds or cfg.teacher_rollouts:
        if not tcfg.env_id:
            what = "onpolicy_rounds" if cfg.onpolicy_rounds else "teacher_rollouts"
            raise UserError(f"{what} needs the teacher's task, and {cfg.checkpoint} records no env_id")
        env_fn = onpolicy_env_fn(tcfg.env_id, cfg.onpolicy_action_noise)
        horizon = cfg.action_horizon or tcfg.action_horizon
        if horizon > tcfg.pred_horizon - tcfg.obs_horizon + 1:
            raise UserError(f"action_horizon={horizon} does not fit the chunk: at most "
                            f"{tcfg.pred_horizon - tcfg.obs_horizon + 1} (H - To + 1)")
    paths = teacher_dataset(cfg.checkpoint, tcfg.env_id or "") if cfg.dataset is None else dataset_paths(cfg.dataset)
    data_path = ", ".join(str(p) for p in paths)
    demos = load_training_demos(paths, tcfg.env_id)  # converted to the teacher's task where needed
    if demos.obs_dim != tcfg.obs_dim:
        raise UserError(f"dataset {data_path} has observations of dim {demos.obs_dim}, the teacher expects "
                        f"{tcfg.obs_dim}")
    bank_dir = cfg.bank_from or cfg.init_student
    saved = read_bank(bank_dir) if bank_dir is not None else None
    # a saved bank holds demonstration histories from its first run's split: keep that split's
    # held-out episodes out of it whatever this run's seed is (older banks did not record it)
    split_seed = int(saved[1]["split_seed"]) if saved is not None and "split_seed" in saved[1] else cfg.seed
    train_ds, held_ds = split_demos(demos, teacher, split_seed)
    bank = f"{bank_dir}'s saved bank" if saved is not None else f"bank {cfg.bank_size}"
    print(f"distilling a {cfg.student_steps}-step student from {cfg.checkpoint} ({tcfg.sampler}"
          f"{cfg.teacher_steps or tcfg.num_inference_steps}"
          f"{f'-rho{cfg.teacher_time_power:g}' if cfg.teacher_time_power != 1 else ''} teacher) on {len(train_ds)} "
          f"windows of {data_path}: "
          f"{cfg.steps} steps, {bank}"
          + (f", then {cfg.onpolicy_rounds} on-policy round(s) of {cfg.onpolicy_episodes} episodes and "
             f"{cfg.onpolicy_steps} steps" if cfg.onpolicy_rounds else ""), flush=True)
    bar, log = loss_progress(cfg.steps + cfg.onpolicy_rounds * cfg.onpolicy_steps, "distill", cfg.progress)
    rounds: list[dict[str, Any]] = []
    teacher_round: dict[str, Any] | None = None
    try:
        fit = StudentFit(teacher, cfg.student_steps, teacher_steps=cfg.teacher_steps,
                         teacher_path=str(Path(cfg.checkpoint).resolve()), init=init, batch_size=cfg.batch_size,
                         lr=cfg.lr, seed=cfg.seed, temperature=cfg.temperature,
                         inner_levels=_inner_levels(cfg, init), loss_space=cfg.loss_space,
                         teacher_time_power=cfg.teacher_time_power, loss=cfg.loss, huber_c=cfg.huber_c,
                         executed_weight=cfg.executed_weight, action_horizon=cfg.action_horizon, anchor=cfg.anchor,
                         objective=cfg.objective, reflow_uniform=cfg.reflow_uniform,
                         level_experts=cfg.level_experts, net=net)
        if cfg.student_net is not None:
            total = len(fit.student.inference_net.state_dict())
            (bar.write if bar is not None else print)(
                f"student network {fit.student.config.denoiser} ({fit.student.num_parameters()} parameters): "
                f"{fit.shared_tensors} of its {total} tensors taken from {cfg.init_student or cfg.checkpoint}"
                + (", the rest fresh" if fit.shared_tensors < total else ""))
        if saved is not None:
            try:
                fit.load_bank(*saved)
            except ValueError as e:
                raise UserError(f"{bank_dir}: its saved bank does not fit this run: {e}") from e
            (bar.write if bar is not None else print)(
                f"continuing from {bank_dir}'s saved bank of {fit.bank_size} histories"
                + (f" (held-out episodes from its split, seed {split_seed})" if "split_seed" in saved[1] else
                   " (it records no split seed: the held-out episodes may overlap its histories)"))
        else:
            fit.fill(ObsBatches(train_ds, min(cfg.batch_size, cfg.bank_size), cfg.seed), cfg.bank_size,
                     chunk=cfg.label_batch)
        if cfg.augment_size:
            fit.fill(ObsBatches(train_ds, min(cfg.batch_size, cfg.augment_size), cfg.seed + 1), cfg.augment_size,
                     chunk=cfg.label_batch, obs_noise=cfg.obs_noise)
            (bar.write if bar is not None else print)(
                f"+{cfg.augment_size} training histories moved by N(0, {cfg.obs_noise:g}²) -> bank {fit.bank_size}")
        if cfg.teacher_rollouts:
            teacher_round = _teacher_rollouts(cfg, rollout_planner, fit, env_fn)
            (bar.write if bar is not None else print)(
                f"teacher rollouts ({teacher_round['spec']}): {teacher_round['episodes']} episodes, success "
                f"{teacher_round['success_rate']}; +{teacher_round['new_histories']} histories x "
                f"{cfg.label_repeats} -> bank {fit.bank_size}; {teacher_round['seconds']:.0f} s")
        if cfg.steps:
            fit.train(cfg.steps, log=log)
        if cfg.onpolicy_rounds:
            def report(rec: Any) -> None:
                rounds.append(asdict(rec))
                ok = "" if rec.success_rate is None else f"success {rec.success_rate:.2f}, "
                msg = (f"on-policy round {rec.round}: the student's {rec.episodes} rollouts {ok}mean return "
                       f"{rec.mean_return:.3g}; +{rec.new_histories} histories -> bank {rec.bank_size}; "
                       f"loss {rec.loss_last_mean:.3g}; {rec.seconds:.0f} s")
                (bar.write if bar is not None else print)(msg)

            distill_on_policy(fit, env_fn, rounds=cfg.onpolicy_rounds, episodes=cfg.onpolicy_episodes,
                              steps=cfg.onpolicy_steps, num_envs=cfg.onpolicy_num_envs, seed=cfg.onpolicy_seed,
                              action_horizon=cfg.action_horizon, repeats=cfg.label_repeats,
                              label_chunk=cfg.label_batch, log=log, on_round=report)
        student = fit.result()
    finally:
        if bar is not None:
            bar.close()
    err = heldout_error(teacher, student, held_ds, teacher_steps=cfg.teacher_steps, n=cfg.heldout_samples,
                        seed=cfg.seed, temperature=cfg.temperature, teacher_time_power=cfg.teacher_time_power)
    # the same error on the training split's demonstration histories (where the bank drew from) with noise
    # no label used: its gap to the held-out error measures overfitting to the states, its gap to the
    # training loss overfitting to the labels' noise draws
    seen = heldout_error(teacher, student, train_ds, teacher_steps=cfg.teacher_steps, n=cfg.heldout_samples,
                         seed=cfg.seed + 1, temperature=cfg.temperature, teacher_time_power=cfg.teacher_time_power)
    dl = student.distill_log
    losses = dl.losses
    summary = {"teacher": str(Path(cfg.checkpoint).resolve()), "dataset": dataset_record(paths),
               "student_steps": cfg.student_steps, "timesteps": student.config.timesteps,
               "temperature": cfg.temperature, "init_student": cfg.init_student, "onpolicy": rounds,
               "teacher_rollouts": teacher_round,
               "bank_from": str(bank_dir) if saved is not None else "demonstrations", "bank_saved": cfg.save_bank,
               "nfe_per_chunk": err["nfe"], "heldout": err, "train_histories_fresh_noise": seen,
               "heldout_split_seed": split_seed, "bank_size": dl.bank_size, "shared_tensors": fit.shared_tensors,
               "teacher_nfe_per_sample": dl.teacher_nfe_per_sample, "seconds": dl.seconds,
               "loss_first": losses[0], "loss_last": losses[-1],
               "loss_last_mean": sum(losses[-50:]) / len(losses[-50:]), "config": asdict(cfg),
               "provenance": provenance(cfg.seed)}
    save_checkpoint(student, out, extra={"distill": summary}, overwrite=cfg.overwrite,
                    extra_tensors={BANK_FILE: _bank_with_split(fit, split_seed)} if cfg.save_bank else None)
    print(f"student: {cfg.student_steps} step(s), nfe {err['nfe']:.0f} per chunk; held-out x0 RMSE vs teacher "
          f"{err['student_rmse']:.4f} (teacher's own network at these levels: "
          f"{err['teacher_at_student_levels_rmse']:.4f}) "
          f"over {err['samples']} histories; on training histories with fresh noise {seen['student_rmse']:.4f}; "
          f"{dl.seconds:.0f} s -> {out}")
    return summary


def _rollout_planner(cfg: DistillConfig, teacher: Any) -> Any:
    """The planner the teacher rollouts run (``teacher_rollout_spec``, else the teacher's own sampler),
    built before any labelling so that a spec this teacher cannot run is refused first."""
    from parapolicy.planners.menu import build_planner, default_spec

    spec = cfg.teacher_rollout_spec or default_spec(teacher)
    try:
        return build_planner(teacher, planner="chunked", menu=[spec], seed=cfg.teacher_rollout_seed,
                             execute_every=cfg.action_horizon)
    except ValueError as e:
        raise UserError(f"teacher_rollout_spec={spec}: {e}") from e


def _teacher_rollouts(cfg: DistillConfig, planner: Any, fit: Any, env_fn: Callable[[], Any]) -> dict[str, Any]:
    """Roll ``planner`` out (``cfg.teacher_rollouts`` episodes), label its replanning histories into
    ``fit``'s bank; returns what was done (spec, success, histories added, seconds)."""
    import time

    from parapolicy.planners.onpolicy_distill import planner_histories
    from parapolicy.planners.vector_eval import summarize_results

    t0 = time.perf_counter()
    obs, results = planner_histories(planner, env_fn, episodes=cfg.teacher_rollouts, num_envs=cfg.onpolicy_num_envs,
                                     seed=cfg.teacher_rollout_seed)  # (M, To, Do)
    fit.label(obs.repeat(cfg.label_repeats, 1, 1), chunk=cfg.label_batch)  # (repeats·M, To, Do)
    summary = summarize_results(results)
    return {"spec": planner.menu[0].name, "episodes": cfg.teacher_rollouts, "seed": cfg.teacher_rollout_seed,
            "success_rate": summary.get("success_rate"), "mean_return": summary["mean_return"],
            "new_histories": int(obs.shape[0]), "repeats": cfg.label_repeats, "bank_size": fit.bank_size,
            "seconds": time.perf_counter() - t0}


@hydra_app("distill", DistillConfig)
def main(cfg: DistillConfig) -> None:
    """Console entry point."""
    distill_checkpoint(cfg)


if __name__ == "__main__":
    main()
