"""Exponential moving average of network weights with the Diffusion Policy warm-up schedule.

decay(step) = clip(1 − (1 + step / inv_gamma)^(−power), min_decay, max_decay), with ``step``
counted as in the reference ``EMAModel``: ``max(0, n − update_after_step − 1)`` for the n-th update
(0-based) and decay 0 while that is 0, so the average starts as an exact copy of the network. With
the reference values (power 0.75, inv_gamma 1, max 0.9999) the decay is ~0.99 after 500 updates and
~0.999 after 10 k: early on the average follows the network closely, later it smooths heavily.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn


class EMA:
    """Updates ``ema_model`` toward ``model`` after each optimizer step; its own state is the step count."""

    def __init__(self, *, power: float = 0.75, inv_gamma: float = 1.0, min_decay: float = 0.0,
                 max_decay: float = 0.9999, update_after_step: int = 0) -> None:
        if power <= 0 or inv_gamma <= 0 or not 0 <= min_decay <= max_decay <= 1 or update_after_step < 0:
            raise ValueError(f"bad EMA settings: power={power} inv_gamma={inv_gamma} min_decay={min_decay} "
                             f"max_decay={max_decay} update_after_step={update_after_step}")
        self.power, self.inv_gamma = float(power), float(inv_gamma)
        self.min_decay, self.max_decay = float(min_decay), float(max_decay)
        self.update_after_step = int(update_after_step)
        self.optimization_step = 0

    def decay(self, optimization_step: int) -> float:
        """The decay used for the update at ``optimization_step`` (0-based count of updates so far)."""
        step = max(0, optimization_step - self.update_after_step - 1)
        if step <= 0:
            return 0.0
        value = 1.0 - (1.0 + step / self.inv_gamma) ** (-self.power)
        return max(self.min_decay, min(value, self.max_decay))

    @torch.no_grad()
    def update(self, model: nn.Module, ema_model: nn.Module) -> float:
        """ema ← decay·ema + (1 − decay)·model for parameters; buffers are copied. Returns the decay."""
        d = self.decay(self.optimization_step)
        ema_params = dict(ema_model.named_parameters())
        for name, p in model.named_parameters():
            e = ema_params[name]
            if p.requires_grad:
                e.mul_(d).add_(p.detach().to(e.dtype), alpha=1.0 - d)
            else:
                e.copy_(p.detach())
        ema_buffers = dict(ema_model.named_buffers())
        for name, b in model.named_buffers():
            if name in ema_buffers:
                ema_buffers[name].copy_(b)
        self.optimization_step += 1
        return d

    def state_dict(self) -> dict[str, Any]:
        """The step counter and settings."""
        return {"optimization_step": self.optimization_step, "power": self.power, "inv_gamma": self.inv_gamma,
                "min_decay": self.min_decay, "max_decay": self.max_decay,
                "update_after_step": self.update_after_step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the step counter (settings come from the constructor)."""
        self.optimization_step = int(state["optimization_step"])
