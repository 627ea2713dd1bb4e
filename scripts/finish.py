"""``parapolicy-finish``: give a 1-step student a cheap distilled last step (``planners.finisher``).

    parapolicy-finish checkpoint=runs/pusht_kp400/checkpoint draft=runs/pusht_kp400/student1_tr \
        level=0.05 'net={mid_blocks: 0}' temperature=0.8 steps=3000 out=runs/pusht_kp400/student2_fin

The draft (a 1-step student of this flow teacher) stays as it is; a finisher network (the teacher's
architecture with ``net``'s overrides, started from the teacher's matching tensors) learns the
teacher's one Euler step from the draft re-noised to ``level`` t_m (or to ``teacher_level``, with the
finisher at ``level``: e.g. ``'net={denoiser: mlp, x0_skip: true}' level=0.001 teacher_level=0.05``, a
cheap network meant to learn only the correction the teacher's step makes to the draft; on Push-T it
learned little of it, videos/bench/pusht_student.md, stop 33). The result is a 2-step student
(levels [1, t_m, 0], one network per step, ``expert_nets`` [the draft's, the finisher's]) that the
bench and the planners load like any student (``student2``). Histories: the draft's saved bank
(``parapolicy-distill save_bank=true``: demonstration, on-policy and teacher-rollout histories) when
it has one, else the training split of the teacher's demonstrations; ``temperature`` defaults to the
one the draft was distilled at. The report: RMSE against the teacher's one-step finish on held-out
demonstration histories, before and after, beside the draft's own x̂0; and the student's x0 error
against the teacher's full deterministic chain (``heldout_error``, the number ``parapolicy-distill``
reports), with the draft's beside it. ``init=<an earlier finisher student>`` continues that
finisher's training (same draft, level and ``net``) with a fresh schedule of ``steps``.

``fold=true`` (``planners.fold``) trains no second network: the draft itself (a copy of it) learns to
output the teacher's one-step finish of the draft's x̂0 (``fold_target=draft``) or of its own
(``fold_target=self``), and the result is a 1-step student (``<draft>_folded``). ``executed_weight=w``
weighs the positions a replan executes (``action_horizon``, default the teacher's) w times the rest.
``finish_steps=K`` makes the target the teacher's K Euler steps from the level (``level=0.1
finish_steps=2``: the menu's ``draft-student1-flow2-at0.1``). A folded draft has no bank of its own;
it trains on the bank of the draft it was folded from. The report gives the RMSE to the teacher's
finish of the draft, before and after (overall and at the executed positions), and how far the
teacher's finish still moves the student's own x0. With
``fold=true``, ``net={…}`` grows the folded student's network beyond the draft's (e.g. ``'net={mid_blocks:
6}'``: four more bottleneck blocks, each starting as the identity, so it starts as the draft).

``rollouts=E`` first rolls the student this run starts from (``init``, else the draft) out for E seeded
episodes (seeds ``rollout_seed …``, at the draft's distillation Ta, or ``action_horizon``, and the run's
temperature) and adds every history it replanned at to the training histories, DAgger-style: the
targets are computed afresh from any history, so the states the deployed student drifts into cost
no labelling. ``rollout_share=s`` repeats them to about that share of the pool. On Push-T (stop 36,
videos/bench/pusht_student.md) 300 such episodes at half the pool did not lift a first fold.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from parapolicy.scripts.common import UserError, hydra_app, loss_progress, provenance


@dataclass
class FinishConfig:
    """Config of ``parapolicy-finish``."""

    checkpoint: str = "???"  # the flow teacher checkpoint directory
    draft: str = "???"  # a 1-step student of that teacher
    level: float = 0.05  # t_m: where the draft hands over to the finisher (flow time, in (0, 1))
    net: Any = None  # finisher: fields it overrides on the teacher's, e.g. {mid_blocks: 0}; fold: on the draft's
    teacher_level: float | None = None  # null: level; where the teacher's step it learns starts
    steps: int = 3000
    batch_size: int = 512
    lr: float = 3e-4  # peak; linear warm-up over `warmup` steps, then cosine decay to 0
    warmup: int = 100
    temperature: float | None = None  # null: the draft's distillation temperature (else 1)
    heldout_samples: int = 512
    init: str | None = None  # an earlier finisher student of this draft and net to continue from
    fold: bool = False  # train the draft itself toward the teacher's finish (a 1-step student; planners.fold)
    fold_target: str = "draft"  # fold: whose x0 the teacher finishes for the target: draft (frozen) | self (EMA)
    finish_steps: int = 1  # fold: the teacher's Euler steps from the level to 0 that make the target
    executed_weight: float = 1.0  # fold: loss weight of the Ta executed chunk positions (the rest: 1)
    action_horizon: int | None = None  # fold: Ta of those positions (null: the teacher's)
    rollouts: int = 0  # episodes of the starting student (init, else the draft) whose replan histories join training
    rollout_share: float | None = None  # their share of the training pool (repeated to it); null: as many as they are
    rollout_seed: int = 7_000_000  # episode j of the rollouts starts from seed rollout_seed + j
    rollout_num_envs: int = 8
    out: str | None = None  # null: <draft>_finished
    overwrite: bool = False
    seed: int = 0
    device: str = "auto"
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "heldout_samples", "warmup", "rollout_num_envs", "finish_steps"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        for name in ("level", "teacher_level"):
            lv = getattr(self, name)
            if lv is None and name == "teacher_level":
                continue  # null: the level itself
            if isinstance(lv, bool) or not isinstance(lv, (int, float)) or not 0 < lv < 1:
                raise ValueError(f"{name} must be a flow time in (0, 1), got {lv!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a number > 0, got {self.lr!r}")
        if self.temperature is not None:
            from parapolicy.policies.sampling import check_temperature

            check_temperature(self.temperature)
        from parapolicy.planners.fold import FOLD_TARGETS
        from parapolicy.planners.student import check_number, check_student_net

        self.net = check_student_net(self.net, "net")
        if isinstance(self.rollouts, bool) or not isinstance(self.rollouts, int) or self.rollouts < 0:
            raise ValueError(f"rollouts must be an integer >= 0, got {self.rollouts!r}")
        if self.rollout_share is not None:
            if not self.rollouts:
                raise ValueError("rollout_share weighs the rollouts' histories; give rollouts >= 1")
            if check_number("rollout_share", self.rollout_share, 0.0, 1.0, strict=True) >= 1:
                raise ValueError(f"rollout_share must be a number in (0, 1), got {self.rollout_share!r}")
        check_number("executed_weight", self.executed_weight, 0.0, strict=True)
        if not isinstance(self.fold, bool):
            raise ValueError(f"fold must be true or false, got {self.fold!r}")
        if self.fold_target not in FOLD_TARGETS:
            raise ValueError(f"fold_target must be one of {', '.join(FOLD_TARGETS)}, got {self.fold_target!r}")
        if not self.fold and (self.executed_weight != 1 or self.action_horizon is not None):
            raise ValueError("executed_weight and action_horizon weigh a fold's loss; give fold=true")
        if not self.fold and self.finish_steps != 1:
            raise ValueError("finish_steps sets a fold's target; a finisher learns the teacher's one step "
                             "(give fold=true)")
        if self.fold and self.teacher_level is not None:
            raise ValueError("fold=true trains the draft's own network from the level; teacher_level applies to a "
                             "finisher")
        for name in ("checkpoint", "draft", "init"):
            if name == "init" and self.init is None:
                continue
            if not Path(getattr(self, name)).is_dir():
                raise FileNotFoundError(f"{name} checkpoint directory not found: {getattr(self, name)}")

    @property
    def out_path(self) -> Path:
        """Where the student goes (the 2-step finisher student, or the folded 1-step one)."""
        suffix = "_folded" if self.fold else "_finished"
        return Path(self.out) if self.out else Path(str(Path(self.draft).resolve()) + suffix)


def _histories(cfg: FinishConfig, teacher: Any, draft_extra: dict[str, Any],
               draft_fold: dict[str, Any]) -> tuple[Any, Any, str, Any]:
    """(training histories (M, To, Do) raw, held-out ChunkDataset, where the training ones came from,
    the demonstration paths)."""
    from parapolicy.policies import read_checkpoint_config
    from parapolicy.scripts.distill import read_bank, split_demos, teacher_dataset
    from parapolicy.scripts.train import load_training_demos

    paths = teacher_dataset(cfg.checkpoint, teacher.config.env_id or "")
    demos = load_training_demos(paths, teacher.config.env_id)
    owner, fold, seen = cfg.draft, draft_fold, set()
    saved = read_bank(owner)
    while saved is None and fold.get("draft") and fold["draft"] not in seen:
        owner = fold["draft"]  # a folded draft trains on the histories of the draft it was folded from
        seen.add(owner)
        saved = read_bank(owner)
        if saved is None and Path(owner).is_dir():  # that one may itself be a fold
            fold = (read_checkpoint_config(owner)[1].get("extra") or {}).get("fold") or {}
    split_seed = int(saved[1].get("split_seed", draft_extra.get("heldout_split_seed", cfg.seed))) if saved else cfg.seed
    train_ds, held_ds = split_demos(demos, teacher, split_seed)
    if saved is not None:
        return saved[0]["obs"], held_ds, f"{owner}'s saved bank", paths
    obs = teacher.normalizer.unnormalize("obs", train_ds.get_batch(list(range(len(train_ds))))["obs"])  # (M, To, Do)
    return obs, held_ds, "the teacher's demonstration windows", paths


def _rollouts(cfg: FinishConfig, student: Any, action_horizon: int, temperature: float,
              bank: Any) -> tuple[Any, dict[str, Any]]:
    """Roll ``student`` out for ``cfg.rollouts`` seeded episodes at ``action_horizon`` and ``temperature``;
    return the training pool ``(M', To, Do)``: ``bank (M, To, Do)`` plus its replan histories, repeated
    to ``cfg.rollout_share`` of the pool when given, and what was done."""
    import time

    import torch

    from parapolicy.planners.onpolicy_distill import visited_histories
    from parapolicy.planners.vector_eval import summarize_results
    from parapolicy.scripts.distill import onpolicy_env_fn

    t0 = time.perf_counter()
    obs, results = visited_histories(student, onpolicy_env_fn(student.config.env_id), episodes=cfg.rollouts,
                                     num_envs=cfg.rollout_num_envs, seed=cfg.rollout_seed,
                                     action_horizon=action_horizon, temperature=temperature)  # (m, To, Do)
    repeats = 1
    if cfg.rollout_share is not None:  # r·m / (M + r·m) ≈ share
        repeats = max(1, round(cfg.rollout_share * bank.shape[0] / ((1.0 - cfg.rollout_share) * obs.shape[0])))
    pool = torch.cat([bank, obs.to(bank.dtype).repeat(repeats, 1, 1)])  # (M + r·m, To, Do)
    record = {"episodes": cfg.rollouts, "seed": cfg.rollout_seed, "action_horizon": action_horizon,
              "temperature": temperature, "success_rate": summarize_results(results).get("success_rate"),
              "new_histories": int(obs.shape[0]), "repeats": repeats,
              "share": repeats * obs.shape[0] / pool.shape[0], "seconds": time.perf_counter() - t0}
    return pool, record


def finish_checkpoint(cfg: FinishConfig) -> dict[str, Any]:
    """Train the finisher (or fold the finish into the draft), report, save the student; returns the summary."""
    import torch

    from parapolicy.planners.finisher import FinisherFit
    from parapolicy.planners.fold import FoldFit
    from parapolicy.policies import load_policy, read_checkpoint_config, save_checkpoint
    from parapolicy.scripts.distill import _device, check_teacher, heldout_error
    from parapolicy.scripts.train import dataset_record

    check_teacher(cfg.checkpoint)
    out = cfg.out_path
    if out.exists() and not cfg.overwrite:
        raise FileExistsError(f"{out} already exists; pass overwrite=true to replace it")
    dcfg, meta = read_checkpoint_config(cfg.draft)
    if dcfg.teacher is None or Path(dcfg.teacher).resolve() != Path(cfg.checkpoint).resolve():
        raise UserError(f"draft={cfg.draft} is not a student of {Path(cfg.checkpoint).resolve()} "
                        f"(its teacher: {dcfg.teacher})")
    draft_extra = (meta.get("extra") or {}).get("distill") or {}
    temperature = cfg.temperature if cfg.temperature is not None else float(draft_extra.get("temperature", 1.0))
    teacher = load_policy(cfg.checkpoint, device=_device(cfg.device))
    draft = load_policy(cfg.draft, device=teacher.device)
    try:
        if cfg.fold:
            fit: Any = FoldFit(teacher, draft, cfg.level, target=cfg.fold_target, batch_size=cfg.batch_size,
                               lr=cfg.lr, temperature=temperature, warmup=cfg.warmup,
                               executed_weight=cfg.executed_weight, action_horizon=cfg.action_horizon, net=cfg.net,
                               finish_steps=cfg.finish_steps, seed=cfg.seed)
        else:
            fit = FinisherFit(teacher, draft, cfg.level, net=cfg.net, teacher_level=cfg.teacher_level,
                              teacher_path=str(Path(cfg.checkpoint).resolve()),
                              batch_size=cfg.batch_size, lr=cfg.lr, temperature=temperature, warmup=cfg.warmup,
                              seed=cfg.seed)
        if cfg.init is not None:
            fit.start_from(load_policy(cfg.init, device=teacher.device))
    except ValueError as e:
        raise UserError(str(e)) from e
    train_obs, held_ds, source, paths = _histories(cfg, teacher, draft_extra, (meta.get("extra") or {}).get("fold") or {})
    rollouts = None
    if cfg.rollouts:
        starter = fit.result() if cfg.init is not None else draft
        ta = int(cfg.action_horizon or (draft_extra.get("config") or {}).get("action_horizon")
                 or teacher.config.action_horizon)
        train_obs, rollouts = _rollouts(cfg, starter, ta, temperature, train_obs)
        source += (f" + {rollouts['new_histories']} replan histories ×{rollouts['repeats']} of "
                   f"{'init' if cfg.init is not None else 'the draft'}'s {cfg.rollouts} rollouts (Ta = {ta}, "
                   f"success {rollouts['success_rate']:.2f})")
    g = torch.Generator().manual_seed(cfg.seed + 11)
    idx = torch.randperm(len(held_ds), generator=g)[:cfg.heldout_samples]
    held_obs = teacher.normalizer.unnormalize("obs", held_ds.get_batch(idx)["obs"])  # (n, To, Do) raw
    before = fit.error(held_obs, seed=cfg.seed)
    whose = {"draft": "the frozen draft's x0", "self": "the student's own x0"}[cfg.fold_target]
    grown = (f", grown by {cfg.net} ({fit.shared_tensors} tensors from the draft, added blocks started as the "
             f"identity: {len(fit.identity_blocks)})" if cfg.fold and fit.grown else "")
    steps = f"{cfg.finish_steps}-step " if cfg.finish_steps > 1 else ""
    what = (f"fold (target: the teacher's {steps}finish of {whose}{grown})" if cfg.fold else
            f"finisher ({fit.student.model.experts[1].__class__.__name__}, {sum(p.numel() for p in fit.params)} "
            f"parameters, {fit.shared_tensors} tensors from the teacher)")
    start = "" if cfg.fold else f" (the teacher's step from {fit.teacher_level:g})"
    print(f"{what} at t_m = {cfg.level:g}{start} "
          f"after {cfg.draft}: {cfg.steps} steps on {train_obs.shape[0]} histories from {source}, "
          f"temperature {temperature:g}", flush=True)
    bar, log = loss_progress(cfg.steps, "fold" if cfg.fold else "finish", cfg.progress)
    try:
        losses = fit.train(train_obs, cfg.steps, log=log)
    finally:
        if bar is not None:
            bar.close()
    after = fit.error(held_obs, seed=cfg.seed)
    student = fit.result()
    dist = draft_extra.get("config") or {}
    chain = dict(teacher_steps=dist.get("teacher_steps"), n=cfg.heldout_samples, seed=cfg.seed,
                 temperature=temperature, teacher_time_power=float(dist.get("teacher_time_power", 1.0)))
    err = heldout_error(teacher, student, held_ds, **chain)
    draft_err = heldout_error(teacher, draft, held_ds, **chain)
    summary = {"teacher": str(Path(cfg.checkpoint).resolve()), "draft": str(Path(cfg.draft).resolve()),
               "level": cfg.level, "temperature": temperature, "histories": int(train_obs.shape[0]),
               "histories_from": source, "dataset": dataset_record(paths),
               "heldout_finish_before": before, "heldout_finish_after": after,
               "heldout_chain": err, "draft_heldout_chain": draft_err, "seconds": fit.seconds,
               "loss_first": losses[0], "loss_last_mean": sum(losses[-50:]) / len(losses[-50:]),
               "rollouts": rollouts, "config": asdict(cfg), "provenance": provenance(cfg.seed)}
    if cfg.fold:
        summary.update(fold_target=cfg.fold_target, finish_steps=cfg.finish_steps, net=cfg.net,
                       shared_tensors=fit.shared_tensors, identity_blocks=fit.identity_blocks,
                       parameters=fit.student.num_parameters())
        save_checkpoint(student, out, extra={"fold": summary, "distill": draft_extra}, overwrite=cfg.overwrite)
        print(f"folded 1-step student: held-out RMSE to the teacher's finish of the draft "
              f"{before['draft_finish_rmse']:.4f} -> {after['draft_finish_rmse']:.4f} (at the executed positions "
              f"{before['draft_finish_rmse_executed']:.4f} -> {after['draft_finish_rmse_executed']:.4f}); "
              f"the teacher's finish moves "
              f"its own x0 by {before['self_finish_rmse']:.4f} -> {after['self_finish_rmse']:.4f}; to the teacher's "
              f"chain {err['student_rmse']:.4f} (the draft: {draft_err['student_rmse']:.4f}); {fit.seconds:.0f} s "
              f"-> {out}")
        return summary
    summary.update(teacher_level=fit.teacher_level, net=fit.net, finisher_parameters=sum(p.numel() for p in fit.params),
                   shared_tensors=fit.shared_tensors)
    save_checkpoint(student, out, extra={"finish": summary}, overwrite=cfg.overwrite)
    print(f"2-step student (draft + finisher): held-out RMSE to the teacher's one-step finish "
          f"{before['finisher_rmse']:.4f} -> {after['finisher_rmse']:.4f} (the draft's own x0: "
          f"{after['draft_rmse']:.4f}); to the teacher's chain {err['student_rmse']:.4f} (the draft: "
          f"{draft_err['student_rmse']:.4f}); {fit.seconds:.0f} s -> {out}")
    return summary


@hydra_app("finish", FinishConfig)
def main(cfg: FinishConfig) -> None:
    """Console entry point."""
    finish_checkpoint(cfg)


if __name__ == "__main__":
    main()
