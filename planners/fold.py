"""Fold: train a 1-step student to land where the teacher's one low-noise finishing step would take it.

On the 400-demo Push-T keypoint model a 1-step flow student reaches about 0.76× of its teacher's
success, while the same student's draft followed by *one* Euler step of the teacher from t_m = 0.05
(re-noised with the same noise, ``planners.finisher``) reaches 0.965×. That second call is a full
teacher call, which keeps the pair below 50× of flow-100 on a 2-core CPU. Folding moves the finish
into the student itself, so the result is one network call again:

    z ~ N(0, T²·I),  x̂ = z − v_ref(z, 1, c)                     (the reference draft, no gradient)
    x_m = t_m·z + (1 − t_m)·x̂,  y = x_m − t_m·v_teacher(x_m, t_m, c)   (the teacher's finish, target)
    loss = ‖(z − v_θ(z, 1, c)) − y‖²                              (the student's own 1-step x0)

``target="draft"``: the reference is the frozen draft the student starts from, so the student learns
the 2-call sampler (draft, teacher finish) as one call, progressive-distillation style. ``target=
"self"``: the reference is the student's own EMA, so the target moves with it and the fixed point is a
student whose output the teacher's finishing step no longer moves (v_teacher(x_m, t_m) = z − x̂: the
teacher reads x_m as lying on the straight path from x̂ to z).

``finish_steps`` K > 1 makes the target the teacher's K Euler steps from t_m to 0 on the even grid
t_m·(1 − k/K) (the menu's ``draft-student1-flowK-at<t_m>``): a target past one call, at K + 1 calls
per label. On the stop-36 Push-T teacher (stop 38, nine sets) the draft finished by two teacher
calls from 0.1 scores 0.964×, by one call from 0.05 0.942×; folded with the executed positions
weighted 100, they give 1-step students at 0.925× and 0.899× (0.881× and 0.885× on a second seed;
four seeds of the first average 0.900×, stop 39).

``executed_weight`` w weighs the Ta chunk positions a replan executes (from index To − 1) w times the
rest in the loss (weights normalized to mean 1): a student that cannot fit the whole correction can
spend its capacity where the closed loop uses it (the correction is largest at the chunk's unexecuted
end, videos/bench/pusht_student.md, stop 33).

Labels cost one reference call and one teacher call per row, so they are drawn afresh every batch,
from fresh noise, on any observation histories (the draft's saved bank: demonstration, on-policy and
teacher-rollout histories). Flow teachers only (the re-noising is the flow path). The student keeps
its draft's config (levels [1, 0]) and by default its network; it is saved as an ordinary 1-step
student. ``net`` grows that network (e.g. more bottleneck blocks) from the draft's function. On the
stop-36 Push-T teacher (stop 37, nine sets) four more bottleneck blocks (1.55 teacher calls' cost)
folded exactly as close to the target and scored the same (0.852× against 0.851×, executed positions
weighted): the fold is not limited by the network's size.

Measured on that Push-T model over nine seed sets (stop 35, videos/bench/pusht_student.md), folding
lifts the 1-step student from 0.76× to 0.87× of flow-100 (``"draft"``; ``"self"``: 0.82×). Weighting
the executed positions lifts it to 0.91×; a second, unweighted round, with the folded student as
the draft, to 0.92×; a third round scored 0.89×. It stays a 1-step student at the draft's cost.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import Tensor

from .finisher import check_draft
from .fresh_fit import FreshLabelFit
from .student import check_number, check_student_net, executed_weights, grow_from
from .student_draft import finish_levels

FOLD_TARGETS = ("draft", "self")


class FoldFit(FreshLabelFit):
    """A 1-step student, started from ``draft``, trained toward the teacher's one-step finish at ``level``.

    ``target``: ``"draft"`` (the frozen draft's finish) or ``"self"`` (the finish of the student's own
    EMA output). ``temperature`` T: the noise scale (sample the student at the same T).
    ``executed_weight`` and ``action_horizon`` Ta (default: the teacher's): the loss weight of the
    executed positions (module docstring). ``net``: network fields the folded student overrides on
    the draft's, to give it more capacity (``{"mid_blocks": 6}``): it takes every draft tensor it
    shares and its added residual blocks start as the identity (``student.grow_from``), so it starts as
    the draft's function. ``finish_steps`` K: the teacher's Euler steps from ``level`` to 0 that make
    the target (module docstring).
    """

    def __init__(self, teacher: Any, draft: Any, level: float, *, target: str = "draft", batch_size: int = 512,
                 lr: float = 1e-4, weight_decay: float = 1e-6, grad_clip: float | None = 1.0,
                 temperature: float = 1.0, warmup: int = 100, executed_weight: float = 1.0,
                 action_horizon: int | None = None, net: dict[str, Any] | None = None, finish_steps: int = 1,
                 seed: int = 0) -> None:
        from parapolicy.policies.config import NETWORK_FIELDS
        from parapolicy.policies.factory import make_policy
        from parapolicy.policies.sampling import check_temperature

        check_draft(draft, teacher)
        self.level = check_number("level", level, 0.0, 1.0, strict=True)
        if self.level >= 1.0:
            raise ValueError(f"level must be a number in (0, 1), got {level!r}")
        if isinstance(finish_steps, bool) or not isinstance(finish_steps, int) or finish_steps < 1:
            raise ValueError(f"finish_steps must be an integer >= 1, got {finish_steps!r}")
        # the teacher's K+1 finishing times t_m·(1 − k/K), as Python floats for the label loop
        self.finish_levels = finish_levels(teacher.train_schedule, torch.tensor(self.level), finish_steps).tolist()
        if target not in FOLD_TARGETS:
            raise ValueError(f"fold target must be one of {', '.join(FOLD_TARGETS)}, got {target!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        self.teacher, self.draft, self.target = teacher, draft, target
        self.temperature = check_temperature(temperature)
        self.batch_size, self.grad_clip = int(batch_size), grad_clip
        self.gen = torch.Generator().manual_seed(seed)
        self.device = teacher.device
        cfg = teacher.config
        self.H, self.Da = int(cfg.pred_horizon), int(cfg.action_dim)
        To, Ta = int(cfg.obs_horizon), int(action_horizon if action_horizon is not None else cfg.action_horizon)
        if isinstance(action_horizon, bool) or not 1 <= Ta <= self.H - To + 1:
            raise ValueError(f"action_horizon must be an integer in [1, {self.H - To + 1}], got {action_horizon!r}")
        w = check_number("executed_weight", executed_weight, 0.0, strict=True)
        self.pos_w = executed_weights(self.H, To, Ta, w).to(self.device)  # (H, 1) mean 1
        self.executed = slice(To - 1, To - 1 + Ta)
        scfg = dataclasses.replace(draft.config, **check_student_net(net, "fold net"))
        self.grown = any(getattr(scfg, f) != getattr(draft.config, f) for f in NETWORK_FIELDS)
        with torch.random.fork_rng():
            torch.manual_seed(seed)  # a grown network's fresh tensors depend on the seed only
            self.student = make_policy(scfg, teacher.normalizer).to(self.device)
        state = draft.inference_net.state_dict()
        self.shared_tensors, self.identity_blocks = len(state), []
        if self.grown:
            self.shared_tensors, self.identity_blocks = grow_from(self.student.model, state)
            state = self.student.model.state_dict()
        self.student.model.load_state_dict(state)
        self.student.ema.load_state_dict(state)
        self._setup_training([p for p in self.student.model.parameters() if p.requires_grad], lr, weight_decay, warmup)

    def start_from(self, student: Any) -> None:
        """Start from an earlier folded student of the same draft network (its weights become the live
        and EMA weights; the reference for ``target="draft"`` stays the draft)."""
        check_draft(student, self.teacher)
        theirs, mine = student.inference_net.state_dict(), self.student.model.state_dict()
        if set(theirs) != set(mine) or any(theirs[k].shape != v.shape for k, v in mine.items()):
            raise ValueError("init's network differs from the draft's")
        self.student.model.load_state_dict(theirs)
        self.student.ema.load_state_dict(theirs)

    def _x0(self, net: Any, z: Tensor, cond: Tensor) -> Tensor:
        """One flow step from t = 1: ``z − net(z, 1, c)`` ``(b, H, Da)`` (``net`` takes network time)."""
        one = torch.ones((z.shape[0],), device=self.device)
        return z - net(z, self.student.train_schedule.network_time(one), cond)

    @torch.no_grad()
    def finish(self, x_hat: Tensor, z: Tensor, cond: Tensor) -> Tensor:
        """The teacher's Euler steps to 0 (``finish_levels``) from ``x_hat (b, H, Da)`` re-noised to
        the level with the same noise ``z (b, H, Da)``; one step: ``x_m − t_m·v_teacher(x_m, t_m, c)``."""
        x = self.level * z + (1.0 - self.level) * x_hat  # (b, H, Da) x_m
        lv, sch = self.finish_levels, self.teacher.train_schedule
        for t_now, t_next in zip(lv[:-1], lv[1:]):
            t = torch.full((z.shape[0],), t_now, device=self.device)  # (b,)
            x = sch.step(self.teacher.denoiser(x, t, cond), t, torch.full_like(t, t_next), x).prev  # Euler
        return x

    @torch.no_grad()
    def labels(self, obs: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """For raw histories ``obs (b, To, Do)``: the condition ``(b, Dc)``, fresh noise z ``(b, H, Da)``
        and the target ``(b, H, Da)``: the teacher's finish of the reference's x̂0 from z."""
        b = obs.shape[0]
        cond = self.teacher.encode_obs(obs.to(self.device))  # (b, Dc)
        z = torch.randn((b, self.H, self.Da), generator=generator or self.gen).mul_(self.temperature)
        z = z.to(self.device)  # (b, H, Da)
        ref = self.draft.inference_net if self.target == "draft" else self.student.inference_net
        return cond, z, self.finish(self._x0(ref, z, cond), z, cond)

    def batch_loss(self, obs: Tensor) -> Tensor:
        """Position-weighted squared error of the live student's x0 against the target, on raw ``obs (b, To, Do)``."""
        cond, z, target = self.labels(obs)  # (b, Dc), (b, H, Da), (b, H, Da)
        return ((self._x0(self.student.model, z, cond) - target).pow(2) * self.pos_w).mean()

    @torch.no_grad()
    def error(self, histories: Tensor, *, seed: int = 0) -> dict[str, float]:
        """On raw ``histories (n, To, Do)`` with seeded noise, in normalized action units:
        ``draft_finish_rmse``, the student's (EMA) x0 against the teacher's finish of the draft (the
        ``"draft"`` target; the draft itself scores ``draft_rmse``), and both at the executed positions
        only (``…_executed``); ``self_finish_rmse``, how far the
        teacher's finish of the student's own x0 moves it (0 at ``"self"``'s fixed point)."""
        g = torch.Generator().manual_seed(seed)
        b = histories.shape[0]
        cond = self.teacher.encode_obs(histories.to(self.device))  # (b, Dc)
        z = torch.randn((b, self.H, self.Da), generator=g).mul_(self.temperature).to(self.device)  # (b, H, Da)
        x_draft = self._x0(self.draft.inference_net, z, cond)  # (b, H, Da)
        y_draft = self.finish(x_draft, z, cond)
        mine = self._x0(self.student.inference_net, z, cond)

        def rmse(a: Tensor, c: Tensor) -> float:
            return float((a - c).pow(2).mean().sqrt())

        ex = self.executed
        return {"draft_finish_rmse": rmse(mine, y_draft), "draft_rmse": rmse(x_draft, y_draft),
                "draft_finish_rmse_executed": rmse(mine[:, ex], y_draft[:, ex]),
                "draft_rmse_executed": rmse(x_draft[:, ex], y_draft[:, ex]),
                "self_finish_rmse": rmse(mine, self.finish(mine, z, cond)), "samples": int(b)}

    def result(self) -> Any:
        """The folded 1-step student (EMA weights, eval mode)."""
        return self.student
