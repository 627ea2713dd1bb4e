"""Level experts: a denoiser made of one network per sampling step.

A distilled student runs a handful of fixed levels, and each of its steps learns a different map:
the first turns pure noise into a coarse chunk, the last turns an almost clean chunk into the exact
one. Sharing one network between them can make the steps compete for its capacity. eDiff-I (Balaji
et al. 2022) trains separate "expert denoisers" for separate noise intervals for this reason; here a
student with ``level_experts`` holds one copy of its architecture per step, each initialised from
the same weights, and every call is routed to the expert of the level it is made at. A sampling call
runs one expert, so a step costs what it cost with one network; the parameters (and the checkpoint)
grow K-fold. (On the 400-demo Push-T student it scored within noise of the single network: README.)
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import Tensor, nn


def network_levels(config: Any) -> list[float]:
    """The network-time value of each step's starting level ``timesteps[:-1]`` of ``config``
    (flow time t ∈ [0, 1] is fed as t·num_train_steps; DDPM levels are fed as they are)."""
    if config.timesteps is None:
        raise ValueError("level_experts needs explicit timesteps (one expert per step)")
    scale = float(config.num_train_steps) if config.objective == "flow" else 1.0
    return [float(t) * scale for t in config.timesteps[:-1]]


class LevelExperts(nn.Module):
    """``net(x (B, H, Da), t (B,) network time, cond (B, Dc)) -> (B, H, Da)`` that sends each row to
    the expert whose level is nearest its ``t``."""

    def __init__(self, experts: Sequence[nn.Module], levels: Sequence[float]) -> None:
        super().__init__()
        if len(experts) != len(levels) or not experts:
            raise ValueError(f"need one expert per level, got {len(experts)} experts for {len(levels)} levels")
        self.experts = nn.ModuleList(experts)
        self.register_buffer("levels", torch.tensor(list(levels), dtype=torch.float32), persistent=False)  # (K,)
        self._level_list = [float(v) for v in levels]  # the same, for routing a one-level call in Python

    def expert_index(self, t: Tensor) -> Tensor:
        """Index of the expert for each row's network time ``t (B,)`` → ``(B,)`` long."""
        return (t.float()[:, None] - self.levels[None, :]).abs().argmin(dim=1)

    def forward(self, x: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        t0 = float(t[0])
        if t.numel() == 1 or bool((t == t[0]).all()):  # a sampling call: every row at one level
            # routed in Python: a few tensor ops less per call, which is measurable at batch 1 on a CPU
            first = min(range(len(self._level_list)), key=lambda i: abs(self._level_list[i] - t0))
            return self.experts[first](x, t, cond)
        k = self.expert_index(t)  # (B,)
        out = torch.empty_like(x)  # (B, H, Da)
        for i in torch.unique(k).tolist():
            rows = k == i
            out[rows] = self.experts[i](x[rows], t[rows], cond[rows])
        return out


def shared_name(name: str) -> str:
    """A level-expert parameter name without its ``experts.<i>.`` prefix (the single-network name)."""
    parts = name.split(".", 2)
    return parts[2] if len(parts) == 3 and parts[0] == "experts" and parts[1].isdigit() else name


def load_into(net: nn.Module, state: dict[str, Tensor]) -> None:
    """Load ``state`` into ``net``: as is when the layouts match, else a single network's weights into
    every expert of a ``LevelExperts`` (the start of an expert student)."""
    if isinstance(net, LevelExperts) and not any(k.startswith("experts.") for k in state):
        for e in net.experts:
            e.load_state_dict(state)
        return
    if not isinstance(net, LevelExperts) and any(k.startswith("experts.") for k in state):
        raise ValueError("cannot load level-expert weights into a single network (set level_experts=true)")
    net.load_state_dict(state)
