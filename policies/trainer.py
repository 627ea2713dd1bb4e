"""Training loop for chunked policies: AdamW + warm-up/cosine LR + EMA, TensorBoard, checkpoints,
exact resumption and multi-process DDP.

* Optimizer: AdamW (Chi et al.: lr 1e-4, weight decay 1e-6, betas 0.95/0.999); LR: linear warm-up
  for ``warmup_steps`` then cosine decay to 0 at ``steps`` (a ``LambdaLR`` stepped every batch).
* EMA of the weights after every optimizer step (``ema.EMA``), evaluated and checkpointed.
* Data order: epoch e visits the samples in ``randperm(N)`` drawn from a generator seeded by
  (seed, e); the position is (epoch, batch index), so a run can resume mid-epoch.
* Resumption: ``out_dir/checkpoints/latest`` holds the policy (weights + EMA) and
  ``training_state.pt`` (optimizer, scheduler, EMA counter, step, data position, the RNG states of
  python/numpy/torch of every rank). A killed run restarted with ``resume=True`` continues from it
  and, on CPU, ends with bit-identical weights to a run that was never interrupted. Evaluations run
  inside a saved/restored RNG state, so they never perturb training.
* DDP: under ``torchrun`` (``WORLD_SIZE`` > 1) the process group is initialized (gloo on CPU, nccl on
  CUDA), the network is wrapped in ``DistributedDataParallel``, each rank reads its own shard of
  every epoch's permutation (``batch_size`` is the global batch), and only rank 0 logs, evaluates and
  writes checkpoints. A process group created here is destroyed at the end.

Outputs: ``out_dir/checkpoint`` (final policy), ``out_dir/checkpoints/latest`` (resumable),
``out_dir/checkpoints/step_<n>`` (with ``keep_step_checkpoints``), ``out_dir/tb`` (TensorBoard),
``out_dir/train_summary.json``.
"""
from __future__ import annotations

import json
import math
import os
import random
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import load_file
from torch.utils.data import DataLoader, Dataset, default_collate

from .base import ChunkPolicyBase
from .checkpoint import (TRAINING_STATE_FILE, WEIGHTS_FILE, CheckpointError, load_training_state,
                         read_checkpoint_config, rng_state, save_checkpoint, set_rng_state)
from .config import TrainConfig
from .ema import EMA

EvalFn = Callable[[ChunkPolicyBase, int], dict]


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` → CUDA (``cuda:<local_rank>``) when available, else CPU; ``cuda`` without a GPU raises."""
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but CUDA is not available; use device=auto or cpu")
    if name in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device(f"cuda:{local_rank}")
    return torch.device("cpu")


def warmup_cosine(warmup_steps: int, total_steps: int) -> Callable[[int], float]:
    """LR multiplier: linear 0 → 1 over ``warmup_steps``, then half a cosine down to 0 at ``total_steps``."""
    def fn(step: int) -> float:
        if step < warmup_steps:
            return step / max(1, warmup_steps)
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0))))
    return fn


def epoch_batches(num_samples: int, batch_size: int, seed: int, epoch: int, *, rank: int = 0,
                  world_size: int = 1) -> list[list[int]]:
    """The batches (sample index lists) rank ``rank`` reads in ``epoch``: a deterministic function of
    (seed, epoch). Each rank gets an equal contiguous slice of the epoch's permutation and reads it
    in batches of ``batch_size // world_size`` (capped at the slice size); the ragged end is dropped."""
    g = torch.Generator().manual_seed((seed * 1_000_003 + epoch) % (2**63))
    perm = torch.randperm(num_samples, generator=g)  # (N,)
    per_rank = num_samples // world_size
    mine = perm[rank * per_rank:(rank + 1) * per_rank]
    bs = max(1, min(batch_size // world_size, per_rank))
    return [mine[i * bs:(i + 1) * bs].tolist() for i in range(per_rank // bs)]


def _collate(data: Any) -> Any:
    """Batches from ``ChunkDataset.__getitems__`` are already stacked; anything else is default-collated."""
    return data if isinstance(data, dict) else default_collate(data)


class _Dist:
    """Rank / world size, and whether this module created the process group."""

    def __init__(self, device_pref: str) -> None:
        env_world = int(os.environ.get("WORLD_SIZE", "1"))
        self.created = False
        if env_world > 1 and not dist.is_initialized():
            use_cuda = device_pref != "cpu" and torch.cuda.is_available()
            dist.init_process_group(backend="nccl" if use_cuda else "gloo")
            self.created = True
        self.enabled = dist.is_available() and dist.is_initialized()
        self.rank = dist.get_rank() if self.enabled else 0
        self.world = dist.get_world_size() if self.enabled else 1
        self.local_rank = int(os.environ.get("LOCAL_RANK", self.rank))

    @property
    def main(self) -> bool:
        return self.rank == 0

    def gather(self, obj: Any) -> list[Any]:
        if not self.enabled or self.world == 1:
            return [obj]
        out: list[Any] = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def barrier(self) -> None:
        if self.enabled and self.world > 1:
            dist.barrier()

    def close(self) -> None:
        if self.created and dist.is_initialized():
            dist.destroy_process_group()


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def _numeric(metrics: dict) -> dict[str, float]:
    out = {}
    for k, v in metrics.items():
        if isinstance(v, (bool, int, float, np.integer, np.floating)) and math.isfinite(float(v)):
            out[k] = float(v)
    return out


def train(policy: ChunkPolicyBase, dataset: Dataset, train_cfg: TrainConfig, out_dir: str | os.PathLike, *,
          eval_fn: EvalFn | None = None, resume: bool = True, progress: bool = True,
          stop_at: int | None = None) -> dict[str, Any]:
    """Train ``policy`` on ``dataset`` (items ``{"obs": (To, Do), "action": (H, Da)}``, normalized).

    ``eval_fn(policy, step) -> metrics``: called on rank 0 every ``eval_every`` steps and at the end
    with the policy in eval mode using EMA weights; numeric metrics go to TensorBoard. ``resume``:
    continue from ``out_dir/checkpoints/latest`` when it exists. ``stop_at``: stop after this global
    step (its resumable checkpoint is written, the final one is not), e.g. to time-slice a job.
    Returns a summary (steps, losses, last eval metrics, checkpoint path, wall time, steps/s); the
    policy is left in eval mode.
    """
    if not isinstance(train_cfg, TrainConfig):
        raise ValueError(f"train_cfg must be a TrainConfig, got {type(train_cfg).__name__}")
    if len(dataset) == 0:  # type: ignore[arg-type]
        raise ValueError("the dataset is empty")
    out = Path(out_dir)
    dd = _Dist(train_cfg.device)
    try:
        return _train(policy, dataset, train_cfg, out, dd, eval_fn=eval_fn, resume=resume, progress=progress,
                      stop_at=stop_at)
    finally:
        dd.close()


def _train(policy: ChunkPolicyBase, dataset: Dataset, cfg: TrainConfig, out: Path, dd: _Dist, *,
           eval_fn: EvalFn | None, resume: bool, progress: bool, stop_at: int | None) -> dict[str, Any]:
    if cfg.batch_size < dd.world:
        raise ValueError(f"batch_size {cfg.batch_size} is smaller than the world size {dd.world}")
    device = resolve_device(cfg.device, dd.local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    _seed_everything(cfg.seed + dd.rank)
    policy.to(device)
    policy.train()
    params = [p for p in policy.model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(cfg.warmup_steps, cfg.steps))
    ema = EMA(power=cfg.ema_power, inv_gamma=cfg.ema_inv_gamma, min_decay=cfg.ema_min_decay,
              max_decay=cfg.ema_max_decay, update_after_step=cfg.ema_update_after_step)
    ckpt_dir = out / "checkpoints"
    latest = ckpt_dir / "latest"
    step, epoch, batch_idx, resumed_from = 0, 0, 0, None
    wall_before: float | None = 0.0  # training wall time of earlier invocations (None: not recorded)
    changed: list[str] = []  # TrainConfig fields that differ from the run being resumed
    if resume and (latest / TRAINING_STATE_FILE).is_file():
        step, epoch, batch_idx, wall_before, changed = _restore(policy, opt, sched, ema, latest, dd, device, cfg)
        resumed_from = step
    net: torch.nn.Module = policy.model
    if dd.enabled and dd.world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            policy.model, device_ids=[device.index] if device.type == "cuda" else None)
    writer = None
    if dd.main:
        out.mkdir(parents=True, exist_ok=True)
        from torch.utils.tensorboard import SummaryWriter  # heavy import: only where used

        writer = SummaryWriter(str(out / "tb"), purge_step=step if resumed_from else None)
    bar = None
    if dd.main and progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.steps, initial=step, desc="train", dynamic_ncols=True)
    n = len(dataset)  # type: ignore[arg-type]
    losses: list[tuple[int, float]] = []
    window: list[float] = []
    last_eval: dict[str, Any] = {}
    t_start, step0 = time.perf_counter(), step
    end = cfg.steps if stop_at is None else min(cfg.steps, int(stop_at))

    def save_latest(final: bool) -> None:
        states = dd.gather(rng_state())
        if not dd.main:
            return
        state = {"step": step, "epoch": epoch, "batch_idx": batch_idx, "optimizer": opt.state_dict(),
                 "scheduler": sched.state_dict(), "ema": ema.state_dict(), "rng": states,
                 "world_size": dd.world, "train_config": cfg.to_dict(),
                 "train_wall_s": None if wall_before is None else wall_before + time.perf_counter() - t_start}
        extra = {"step": step, "train": cfg.to_dict(), "eval": _numeric(last_eval), "final": final}
        save_checkpoint(policy, latest, extra=extra, overwrite=True, training_state=state)
        if cfg.keep_step_checkpoints:
            save_checkpoint(policy, ckpt_dir / f"step_{step}", extra=extra, overwrite=True)

    def evaluate() -> None:
        nonlocal last_eval
        if eval_fn is None or not dd.main:
            return
        saved = rng_state()
        use_ema = policy.use_ema
        policy.eval()
        policy.use_ema = True
        try:
            last_eval = dict(eval_fn(policy, step) or {})
        finally:
            policy.use_ema = use_ema
            policy.train()
            set_rng_state(saved)
        for k, v in _numeric(last_eval).items():
            writer.add_scalar(f"eval/{k}", v, step)

    while step < end:
        batches = epoch_batches(n, cfg.batch_size, cfg.seed, epoch, rank=dd.rank, world_size=dd.world)
        if not batches:
            raise ValueError(f"no batches: {n} samples for {dd.world} rank(s)")
        loader = DataLoader(dataset, batch_sampler=batches[batch_idx:], num_workers=cfg.num_workers,
                            collate_fn=_collate, pin_memory=device.type == "cuda",
                            generator=torch.Generator().manual_seed(cfg.seed + epoch))
        for batch in loader:
            obs = batch["obs"].to(device, non_blocking=True)  # (B, To, Do)
            actions = batch["action"].to(device, non_blocking=True)  # (B, H, Da)
            loss = policy.compute_loss(obs, actions, net=net)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            opt.step()
            sched.step()
            ema.update(policy.model, policy.ema)
            step += 1
            batch_idx += 1
            if batch_idx >= len(batches):
                epoch, batch_idx = epoch + 1, 0
            window.append(float(loss.detach()))
            if step % max(1, cfg.log_every) == 0 or step == end:
                mean = float(np.mean(window))
                window.clear()
                losses.append((step, mean))
                if writer is not None:
                    writer.add_scalar("train/loss", mean, step)
                    writer.add_scalar("train/lr", opt.param_groups[0]["lr"], step)
                if bar is not None:
                    bar.set_postfix(loss=f"{mean:.4f}", lr=f"{opt.param_groups[0]['lr']:.2e}")
            if bar is not None:
                bar.update(1)
            if cfg.eval_every and step % cfg.eval_every == 0 and step < cfg.steps:
                evaluate()
            if (cfg.ckpt_every and step % cfg.ckpt_every == 0) or step == end:
                save_latest(final=step == cfg.steps)
            if step >= end:
                break
    wall = time.perf_counter() - t_start
    if bar is not None:
        bar.close()
    summary: dict[str, Any] = {"step": step, "steps": cfg.steps, "resumed_from": resumed_from,
                               "world_size": dd.world, "device": str(device), "params": policy.num_parameters(),
                               "wall_s": wall, "steps_per_s": (step - step0) / wall if wall > 0 else None,
                               "total_wall_s": None if wall_before is None else wall_before + wall,
                               "resumed_config_changes": changed,
                               "losses": losses, "final_loss": losses[-1][1] if losses else None,
                               "stopped_early": step < cfg.steps, "checkpoint": None, "eval": {}}
    if step >= cfg.steps:
        trained_now = step > step0  # False when resuming an already finished run
        if trained_now:
            evaluate()
        summary["eval"] = last_eval
        final = out / "checkpoint"
        if dd.main and (trained_now or not final.exists()):
            extra = {"step": step, "train": cfg.to_dict(), "eval": _numeric(last_eval), "final": True}
            save_checkpoint(policy, final, extra=extra, overwrite=True)
        summary["checkpoint"] = str(final)
    if dd.main:
        (out / "train_summary.json").write_text(json.dumps(
            {k: v for k, v in summary.items() if k != "eval"} | {"eval": _numeric(last_eval)}, indent=2) + "\n")
        writer.flush()
        writer.close()
    dd.barrier()
    policy.eval()  # ready for inference; a later train() call switches back
    return summary


def _restore(policy: ChunkPolicyBase, opt: torch.optim.Optimizer, sched: Any, ema: EMA, latest: Path, dd: _Dist,
             device: torch.device, train_cfg: TrainConfig) -> tuple[int, int, int, float | None, list[str]]:
    """Load weights, EMA, optimizer, scheduler, RNG and data position from ``latest``.

    Returns ``(step, epoch, batch_idx, wall_before, changed)``: the training wall time the run had
    spent so far (None for a state written before it was recorded) and the ``TrainConfig`` fields the
    resumed run changes (e.g. ``steps``, which reshapes the LR schedule from here on: such a run is
    not equivalent to an uninterrupted one, and its summary says so)."""
    cfg, _ = read_checkpoint_config(latest)
    if cfg.to_dict() != policy.config.to_dict():
        diff = [k for k, v in cfg.to_dict().items() if policy.config.to_dict().get(k) != v]
        raise CheckpointError(f"cannot resume from {latest}: its policy config differs in {', '.join(diff)}; "
                              f"use another out_dir or resume=False")
    try:
        weights = load_file(str(latest / WEIGHTS_FILE), device="cpu")
    except Exception as e:
        raise CheckpointError(f"{latest / WEIGHTS_FILE} is corrupt or truncated ({type(e).__name__})") from None
    policy.load_state_dict(weights)
    policy.to(device)
    state = load_training_state(latest)
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    ema.load_state_dict(state["ema"])
    rngs = state["rng"]
    if len(rngs) == dd.world:
        set_rng_state(rngs[dd.rank])
    else:  # a different number of ranks: the run continues, just not bit-identically
        _seed_everything(int(state["step"]) * 7919 + dd.rank)
    old, new = state.get("train_config") or {}, train_cfg.to_dict()
    changed = sorted(k for k in new if k in old and old[k] != new[k])
    wall = state.get("train_wall_s")
    return (int(state["step"]), int(state["epoch"]), int(state["batch_idx"]),
            None if wall is None else float(wall), changed)
