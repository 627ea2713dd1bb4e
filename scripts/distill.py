"""``parapolicy-distill``: distill a 1–8 step student from a trained diffusion-policy teacher.

    parapolicy-distill checkpoint=runs/train/<time>/checkpoint steps=2000 student_steps=1
    parapolicy-distill checkpoint=… steps=3000 student_steps=2 dataset=runs/data/Fork-v0.hdf5 out=runs/fork_s2

Method: ``parapolicy.planners.student.distill`` (one-stage step distillation of the teacher's
deterministic sampler; see that module for why). The observations come from demonstrations — by
default the dataset the teacher was trained on (recorded in its run's ``train_summary.json``), else
``runs/data/<env>.hdf5``, else the dataset shipped with the package. A tenth of the episodes (at least
one) is held out of the distillation bank to report the student's x0 error against the teacher.

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
from typing import Any, Iterator

from parapolicy.scripts.common import EnvConfig, UserError, hydra_app, provenance

DEVICES = ("auto", "cpu", "cuda")


@dataclass
class DistillConfig:
    """Config of ``parapolicy-distill``."""

    checkpoint: str = "???"  # the teacher checkpoint directory
    steps: int = 2000  # student training iterations
    student_steps: int = 1  # N sampling steps of the student (1..8)
    dataset: Any = None  # a path or list of paths; null: the teacher's training dataset (module docstring)
    out: str | None = None  # null: <teacher dir>/../student<N>
    overwrite: bool = False
    teacher_steps: int | None = None  # the teacher's deterministic sampler steps (null: its own)
    bank_size: int = 2048  # observation histories labelled by the teacher
    batch_size: int = 256
    lr: float = 1e-4
    heldout_samples: int = 256  # held-out histories for the x0-error report
    temperature: float = 1.0  # initial noise N(0, T²·I) of the teacher's labels; sample the student at the same T
    seed: int = 0
    device: str = "auto"
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("steps", "bank_size", "batch_size", "heldout_samples"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        if isinstance(self.student_steps, bool) or not 1 <= self.student_steps <= 8:
            raise ValueError(f"student_steps must be an integer in [1, 8] (a few-step student), "
                             f"got {self.student_steps}")
        if self.teacher_steps is not None and self.teacher_steps < 1:
            raise ValueError(f"teacher_steps must be null or an integer >= 1, got {self.teacher_steps}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a number > 0, got {self.lr!r}")
        from parapolicy.policies.sampling import check_temperature

        check_temperature(self.temperature)
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
                  seed: int, temperature: float = 1.0) -> dict[str, float]:
    """RMS x0 error (normalized action units) on held-out histories, same initial noise: the student
    vs the teacher's deterministic sampler, and — for scale — the teacher's own network run with the
    student's few levels (where the student started). The initial noise is N(0, ``temperature``²·I)."""
    import torch

    from parapolicy.planners.base import Budget
    from parapolicy.planners.sequential import SequentialSampler
    from parapolicy.planners.student import deterministic_schedule, teacher_trajectories

    g = torch.Generator().manual_seed(seed + 7)
    idx = torch.randperm(len(heldout), generator=g)[:n]
    obs = teacher.normalizer.unnormalize("obs", heldout.get_batch(idx)["obs"]).to(teacher.device)  # (n, To, Do) raw
    cfg = teacher.config
    x_T = torch.randn((obs.shape[0], cfg.pred_horizon, cfg.action_dim), generator=g).mul_(temperature)  # (n, H, Da)
    x_T = x_T.to(teacher.device)
    det = deterministic_schedule(teacher.train_schedule)
    if teacher_steps is not None:
        teacher_ts = det.timesteps(int(teacher_steps))
    elif cfg.sampler in ("ddim", "flow"):
        teacher_ts = teacher.timesteps
    else:
        teacher_ts = det.timesteps(cfg.num_inference_steps)
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


def _device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("device=cuda but no CUDA device is available")
    return name


def distill_checkpoint(cfg: DistillConfig) -> dict[str, Any]:
    """Load the teacher and demos, distill, report, save the student; returns the summary."""
    from parapolicy.planners.student import distill
    from parapolicy.policies import load_policy, save_checkpoint
    from parapolicy.scripts.train import dataset_paths, dataset_record, load_training_demos

    tcfg = check_teacher(cfg.checkpoint)
    out = cfg.out_path
    if out.exists() and not cfg.overwrite:
        raise FileExistsError(f"{out} already exists; pass overwrite=true to replace it")
    teacher = load_policy(cfg.checkpoint, device=_device(cfg.device))
    paths = teacher_dataset(cfg.checkpoint, tcfg.env_id or "") if cfg.dataset is None else dataset_paths(cfg.dataset)
    data_path = ", ".join(str(p) for p in paths)
    demos = load_training_demos(paths, tcfg.env_id)  # converted to the teacher's task where needed
    if demos.obs_dim != tcfg.obs_dim:
        raise UserError(f"dataset {data_path} has observations of dim {demos.obs_dim}, the teacher expects "
                        f"{tcfg.obs_dim}")
    train_ds, held_ds = split_demos(demos, teacher, cfg.seed)
    print(f"distilling a {cfg.student_steps}-step student from {cfg.checkpoint} ({tcfg.sampler}"
          f"{cfg.teacher_steps or tcfg.num_inference_steps} teacher) on {len(train_ds)} windows of {data_path}: "
          f"{cfg.steps} steps, bank {cfg.bank_size}", flush=True)
    bar, log = _progress(cfg)
    try:
        student = distill(teacher, ObsBatches(train_ds, min(cfg.batch_size, cfg.bank_size), cfg.seed), cfg.steps,
                          cfg.student_steps, teacher_steps=cfg.teacher_steps,
                          teacher_path=str(Path(cfg.checkpoint).resolve()), bank_size=cfg.bank_size,
                          batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed, temperature=cfg.temperature,
                          log=log)
    finally:
        if bar is not None:
            bar.close()
    err = heldout_error(teacher, student, held_ds, teacher_steps=cfg.teacher_steps, n=cfg.heldout_samples,
                        seed=cfg.seed, temperature=cfg.temperature)
    dl = student.distill_log
    losses = dl.losses
    summary = {"teacher": str(Path(cfg.checkpoint).resolve()), "dataset": dataset_record(paths),
               "student_steps": cfg.student_steps, "timesteps": student.config.timesteps,
               "temperature": cfg.temperature,
               "nfe_per_chunk": err["nfe"], "heldout": err, "bank_size": dl.bank_size,
               "teacher_nfe_per_sample": dl.teacher_nfe_per_sample, "seconds": dl.seconds,
               "loss_first": losses[0], "loss_last": losses[-1],
               "loss_last_mean": sum(losses[-50:]) / len(losses[-50:]), "config": asdict(cfg),
               "provenance": provenance(cfg.seed)}
    save_checkpoint(student, out, extra={"distill": summary}, overwrite=cfg.overwrite)
    print(f"student: {cfg.student_steps} step(s), nfe {err['nfe']:.0f} per chunk; held-out x0 RMSE vs teacher "
          f"{err['student_rmse']:.4f} (teacher's own network at these levels: "
          f"{err['teacher_at_student_levels_rmse']:.4f}) "
          f"over {err['samples']} histories; {dl.seconds:.0f} s -> {out}")
    return summary


def _progress(cfg: DistillConfig) -> tuple[Any, Any]:
    """(tqdm bar or None, per-step log callback)."""
    if not cfg.progress:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=cfg.steps, desc="distill", unit="step", dynamic_ncols=True)

    def log(_it: int, loss: float) -> None:
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.4g}", refresh=False)

    return bar, log


@hydra_app("distill", DistillConfig)
def main(cfg: DistillConfig) -> None:
    """Console entry point."""
    distill_checkpoint(cfg)


if __name__ == "__main__":
    main()
