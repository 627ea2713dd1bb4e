"""Finisher: a small network distilled to make the last, low-noise step after a 1-step student's draft.

A 1-step flow student maps noise z straight to a chunk x̂0. On the 400-demo Push-T keypoint model it
reaches only about 0.8× its teacher's success, although its x0 error is as small as that of 2-step
students that do better, and lowering that error further (more and more varied histories) does not
lift it (videos/bench/pusht_student.md, stop 32). Re-noising the draft to a low level t_m with the
same noise, x_tm = t_m·z + (1 − t_m)·x̂0 (exactly the student's own Euler step from 1 to t_m), and
letting the *teacher's* network make one Euler step from there restores the teacher's success
(t_m = 0.05). That is a 2-step sampler on two networks, 1 → t_m → 0, and the second call is where a
full-size teacher costs too much for a 2-call chain to be 50× faster than 100 teacher calls.

The finisher replaces that second call by a cheaper network (e.g. the teacher's U-Net without its
bottleneck blocks, ``net={"mid_blocks": 0}``) trained to reproduce it: on observation histories
(a student's saved bank, or demonstration windows) with fresh noise z ~ N(0, T²·I) per batch, the
input is the frozen draft's x_tm and the target is the teacher's one-step x0 estimate from it,
x_tm − t_m·v_teacher(x_tm, t_m); the loss is the mean squared error of the finisher's own x0
estimate. It starts from every teacher tensor whose name and shape it shares (``load_matching``).
Labels cost one draft call and one teacher call per row, so they are drawn afresh each batch.

The result is an ordinary 2-step student checkpoint: ``level_experts`` with levels [1, t_m, 0] and
``expert_nets`` [the draft's network, the finisher's], expert 0 holding the draft's weights
unchanged. Flow teachers only (the re-noising above is the flow path).

Measured on that Push-T model (three seed sets): draft + the no-bottleneck finisher after 6000
steps scores 0.97× of flow-100, but that finisher costs about 0.8 of a teacher call at batch 1 on a
2-core CPU, so the pair is 44–49× faster, not 50× (stops 32–33). Cheaper finishers either miss the
teacher's finish (two-level and one-level U-Nets: 0.014 and 0.018 RMSE against the draft's own
0.009; a skip MLP: 0.0091) or, with one residual block per level (``level_blocks: 1``), fit it
closely (0.0053) yet score 0.90× at 52× eager and 47× traced (videos/bench/pusht_student.md).
Over nine seed sets (stop 34, latency passes interleaved) the first pair is 0.948× at 49× eager /
45× traced, the second 0.920× at 51× / 47×; the draft finished by the teacher's own call 0.965×.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from parapolicy.policies.schedules import FlowSchedule
from parapolicy.policies.skip import X0Skip, zero_last_layer

from .fresh_fit import FreshLabelFit
from .menu import _check_student
from .student import check_number, check_student_net, load_matching


def check_draft(draft: Any, teacher: Any) -> None:
    """``ValueError`` unless ``draft`` is a single-network 1-step student (levels [1, 0]) that fits
    ``teacher`` (a flow policy) in its shapes and normalizer."""
    if not isinstance(teacher.train_schedule, FlowSchedule):
        raise ValueError(f"a finisher needs a flow teacher (its draft is re-noised along the flow path), not "
                         f"{type(teacher.train_schedule).__name__}")
    cfg = draft.config
    if cfg.teacher is None:
        raise ValueError("the draft must be a distilled 1-step student (its config names no teacher)")
    if [float(t) for t in cfg.timesteps or []] != [1.0, 0.0] or cfg.level_experts:
        raise ValueError(f"the draft must be a single-network 1-step student with levels [1, 0], got levels "
                         f"{cfg.timesteps}{' with one network per step' if cfg.level_experts else ''}")
    _check_student(draft, teacher)  # shapes and normalizer statistics


def decoder_aligned(state: dict[str, Tensor], teacher_levels: int, levels: int) -> dict[str, Tensor]:
    """A U-Net teacher's ``state`` renamed for a U-Net with fewer levels: the decoder is aligned at its
    output end, so the teacher's decoder level ``up.j`` becomes ``up.(j − d)`` for d = ``teacher_levels``
    − ``levels`` (its deepest d decoder levels are dropped); everything else keeps its name. With the
    encoder's first levels and the final layers this gives a shallower finisher the teacher's whole
    path at the resolutions it keeps (only its bottleneck blocks, and the convolution into them, are
    new)."""
    d = int(teacher_levels) - int(levels)
    if d <= 0:
        return dict(state)
    out: dict[str, Tensor] = {}
    for k, v in state.items():
        parts = k.split(".", 2)
        if parts[0] == "up" and len(parts) == 3 and parts[1].isdigit():
            j = int(parts[1]) - d
            if j >= 0:
                out[f"up.{j}.{parts[2]}"] = v
        else:
            out[k] = v
    return out


class FinisherFit(FreshLabelFit):
    """The 2-step student (draft, finisher) under training; only the finisher's weights move.

    ``level`` t_m in (0, 1): where the draft hands over. ``net``: network fields the finisher
    overrides on the teacher's architecture (``{}``: the teacher's own; ``x0_skip: true`` makes it
    predict a correction to x_tm that starts at zero, ``policies.skip``). ``teacher_level``: where the
    teacher's step that it learns starts (default: ``level``; with a skip finisher, a level near 0
    keeps x_tm close to the draft while the target stays the teacher's finish from, e.g., 0.05).
    ``temperature`` T: the noise scale of the drafts it learns to finish (sample at the same T).
    """

    def __init__(self, teacher: Any, draft: Any, level: float, *, net: dict[str, Any] | None = None,
                 teacher_level: float | None = None, teacher_path: str | None = None, batch_size: int = 512,
                 lr: float = 3e-4, weight_decay: float = 1e-6, grad_clip: float | None = 1.0, temperature: float = 1.0,
                 warmup: int = 100, seed: int = 0) -> None:
        from parapolicy.policies.config import NETWORK_FIELDS
        from parapolicy.policies.factory import make_policy
        from parapolicy.policies.sampling import check_temperature

        check_draft(draft, teacher)
        self.level = check_number("level", level, 0.0, 1.0, strict=True)
        if self.level >= 1.0:
            raise ValueError(f"level must be a number in (0, 1), got {level!r}")
        self.teacher_level = self.level if teacher_level is None else check_number(
            "teacher_level", teacher_level, 0.0, 1.0, strict=True)
        if self.teacher_level >= 1.0:
            raise ValueError(f"teacher_level must be a number in (0, 1), got {teacher_level!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        self.teacher, self.draft = teacher, draft
        self.temperature = check_temperature(temperature)
        self.batch_size, self.grad_clip = int(batch_size), grad_clip
        self.gen = torch.Generator().manual_seed(seed)
        self.device = teacher.device
        tcfg = teacher.config
        self.H, self.Da = int(tcfg.pred_horizon), int(tcfg.action_dim)
        draft_net = {f: getattr(draft.config, f) for f in NETWORK_FIELDS}
        self.net = {**{f: getattr(tcfg, f) for f in NETWORK_FIELDS}, **check_student_net(net, "finisher net")}
        scfg = dataclasses.replace(tcfg, sampler="flow", inference_steps=2, timesteps=[1.0, self.level, 0.0],
                                   level_experts=True, expert_nets=[draft_net, dict(self.net)],
                                   teacher=teacher_path or draft.config.teacher)
        with torch.random.fork_rng():
            torch.manual_seed(seed)  # the finisher's fresh tensors depend on the seed only
            self.student = make_policy(scfg, teacher.normalizer).to(self.device)
        first, finisher = self.student.model.experts  # the draft's network, the finisher's
        first.load_state_dict(draft.inference_net.state_dict())
        first.requires_grad_(False)
        body = finisher.net if isinstance(finisher, X0Skip) else finisher
        state = teacher.inference_net.state_dict()
        if self.net["denoiser"] == "unet" == tcfg.denoiser:
            state = decoder_aligned(state, len(tcfg.down_dims), len(self.net["down_dims"]))
        self.shared_tensors = load_matching(body, state)
        if isinstance(finisher, X0Skip):
            zero_last_layer(body)  # a skip finisher starts as the identity on x_tm, whatever it loaded
        self.student.ema.load_state_dict(self.student.model.state_dict())
        self._setup_training([p for p in finisher.parameters() if p.requires_grad], lr, weight_decay, warmup)

    def start_from(self, student: Any) -> None:
        """Continue an earlier run: ``student`` is a finisher student of the same draft, level and
        finisher network, and its finisher's (EMA) weights become this finisher's live and EMA weights,
        so a long schedule can be split over several runs. ``ValueError`` for any other student."""
        from parapolicy.policies.config import NETWORK_FIELDS

        cfg = student.config
        if not cfg.level_experts or [float(t) for t in (cfg.timesteps or [])] != [1.0, self.level, 0.0]:
            raise ValueError(f"init is not a finisher student at level {self.level:g} "
                             f"(its levels: {cfg.timesteps})")
        fin_cfg = cfg.expert_config(1)  # the finisher's effective fields (an older config may lack new ones)
        theirs, mine = _plain({f: getattr(fin_cfg, f) for f in NETWORK_FIELDS}), _plain(self.net)
        if theirs != mine:
            diff = sorted(k for k in set(theirs) | set(mine) if theirs.get(k) != mine.get(k))
            raise ValueError(f"init's finisher network differs from net in {', '.join(diff)}")
        first, second = student.inference_net.experts
        held = first.state_dict()
        if any(k not in held or not torch.equal(held[k], v) for k, v in self.draft.inference_net.state_dict().items()):
            raise ValueError("init was finished after another draft")
        self.student.model.experts[1].load_state_dict(second.state_dict())
        self.student.ema.load_state_dict(self.student.model.state_dict())

    @torch.no_grad()
    def pair(self, obs: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """For raw histories ``obs (b, To, Do)``: the condition ``(b, Dc)``, the draft's x̂0 and the draft
        re-noised to the level, ``x_tm = t_m·z + (1 − t_m)·x̂0``, from fresh noise z (both ``(b, H, Da)``),
        and the teacher's one-step x0 from the draft re-noised the same way to ``teacher_level``
        ``(b, H, Da)``."""
        b = obs.shape[0]
        cond = self.teacher.encode_obs(obs.to(self.device))  # (b, Dc)
        z = torch.randn((b, self.H, self.Da), generator=generator or self.gen).mul_(self.temperature)
        z = z.to(self.device)  # (b, H, Da)
        one = torch.ones((b,), device=self.device)
        x_hat = z - self.draft.denoiser(z, one, cond)  # the draft's x0 (one flow step from t = 1)
        x_m = self.level * z + (1.0 - self.level) * x_hat  # = its Euler step 1 → t_m
        tl = self.teacher_level
        x_tl = x_m if tl == self.level else tl * z + (1.0 - tl) * x_hat  # (b, H, Da) the teacher's start
        target = x_tl - tl * self.teacher.denoiser(x_tl, one * tl, cond)
        return cond, x_hat, x_m, target

    def _finish(self, net: Any, x_m: Tensor, cond: Tensor) -> Tensor:
        """x0 estimate ``(b, H, Da)`` of ``net`` (the live or EMA experts) from ``x_m`` at the level."""
        t = torch.full((x_m.shape[0],), self.level, device=self.device)
        return x_m - self.level * net(x_m, self.student.train_schedule.network_time(t), cond)

    def batch_loss(self, obs: Tensor) -> Tensor:
        """Mean squared error of the live finisher's x0 against the teacher's finish, on raw ``obs (b, To, Do)``."""
        cond, _, x_m, target = self.pair(obs)
        return F.mse_loss(self._finish(self.student.model, x_m, cond), target)

    @torch.no_grad()
    def error(self, histories: Tensor, *, seed: int = 0) -> dict[str, float]:
        """On ``histories (n, To, Do)`` with seeded noise: RMSE against the teacher's one-step finish of
        the finisher (EMA) and of the draft's own x̂0 (no finish), in normalized action units."""
        cond, x_hat, x_m, target = self.pair(histories, torch.Generator().manual_seed(seed))
        mine = self._finish(self.student.inference_net, x_m, cond)
        return {"finisher_rmse": float((mine - target).pow(2).mean().sqrt()),
                "draft_rmse": float((x_hat - target).pow(2).mean().sqrt()), "samples": int(histories.shape[0])}

    def result(self) -> Any:
        """The 2-step student policy (EMA weights, eval mode)."""
        return self.student


def _plain(net: Any) -> dict[str, Any]:
    """Network fields with tuples as lists (as a saved config holds them), for comparison."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dict(net).items()}


__all__ = ["FinisherFit", "check_draft", "decoder_aligned"]
