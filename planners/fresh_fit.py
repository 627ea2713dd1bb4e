"""The training loop shared by the fits whose teacher labels are drawn afresh every batch.

A finisher (``planners.finisher``) and a fold (``planners.fold``) both learn a map whose label costs
a couple of network calls, so neither keeps a labelled bank: each batch draws histories uniformly,
fresh noise, and labels them on the spot. They share the schedule (a linear warm-up, then a cosine
decay to 0: the target is a precise map, so the last steps should be small), AdamW with gradient
clipping, and an EMA of the weights that sampling uses. Each subclass says only what its loss is.
"""
from __future__ import annotations

import abc
import math
import time
from typing import Any, Callable

import torch
from torch import Tensor


class FreshLabelFit(abc.ABC):
    """Subclasses set ``student`` (a policy with ``model``/``ema``), ``opt``, ``params``, ``ema`` (an
    ``EMA``), ``gen``, ``batch_size``, ``grad_clip``, ``lr``, ``warmup``, ``losses`` and ``seconds``,
    and define ``batch_loss``."""

    student: Any
    opt: torch.optim.Optimizer
    params: list[Tensor]
    ema: Any
    gen: torch.Generator
    batch_size: int
    grad_clip: float | None
    lr: float
    warmup: int
    losses: list[float]
    seconds: float

    def _setup_training(self, params: list[Tensor], lr: float, weight_decay: float, warmup: int) -> None:
        """Set the trained ``params``, AdamW, the schedule's ``lr``/``warmup`` and a fresh EMA; the
        student (already built, EMA weights loaded) is left in eval mode on its EMA."""
        from parapolicy.policies.ema import EMA

        self.params = params
        self.lr, self.warmup = float(lr), max(1, int(warmup))
        self.opt = torch.optim.AdamW(self.params, lr=lr, weight_decay=weight_decay)
        self.ema = EMA()
        self.student.use_ema = True
        self.student.eval()
        self.losses = []
        self.seconds = 0.0

    @abc.abstractmethod
    def batch_loss(self, obs: Tensor) -> Tensor:
        """The scalar training loss of the live network on raw histories ``obs (b, To, Do)``."""

    def lr_at(self, i: int, steps: int) -> float:
        """The learning rate of step ``i`` of a ``steps``-step call: a linear warm-up over ``warmup``
        steps (a fresh Adam's first updates are as large as ``lr`` itself, which throws a network that
        starts near its target far from it), then a cosine decay that nears 0 at the last step."""
        warm = min(1.0, (i + 1) / self.warmup)
        return self.lr * warm * 0.5 * (1.0 + math.cos(math.pi * i / max(1, steps)))

    def train(self, histories: Tensor, steps: int, log: Callable[[int, float], None] | None = None) -> list[float]:
        """``steps`` AdamW iterations on uniform minibatches of raw ``histories (M, To, Do)``, fresh noise
        each batch, at ``lr_at``; returns this call's losses. The student is left in eval mode on its EMA."""
        if histories.dim() != 3 or histories.shape[0] < 1:
            raise ValueError(f"histories must be (M >= 1, To, Do), got shape {tuple(histories.shape)}")
        t0 = time.perf_counter()
        st, out = self.student, []
        st.train()
        try:
            for i in range(int(steps)):
                idx = torch.randint(0, histories.shape[0], (self.batch_size,), generator=self.gen)
                loss = self.batch_loss(histories[idx])
                for group in self.opt.param_groups:
                    group["lr"] = self.lr_at(i, int(steps))
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                if self.grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(self.params, self.grad_clip)
                self.opt.step()
                self.ema.update(st.model, st.ema)
                out.append(float(loss.detach()))
                if log is not None:
                    log(i, out[-1])
        finally:
            st.eval()
            self.seconds += time.perf_counter() - t0
        self.losses.extend(out)
        return out
