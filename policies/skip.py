"""Skip-connected output for a flow network used at one low noise level (a finisher).

A flow network predicts the velocity v, and the sampler's x0 estimate at flow time t is
x_t − t·v. At a small t that is a poor form for a network that should *correct* an almost clean
chunk: to leave x_t as it is it must output v = 0 exactly, and every error in v is scaled by t only,
so a cheap network trained from scratch starts far from "change nothing". With ``x0_skip`` the
wrapped network instead outputs a correction r, and the denoiser returns v = −r/t, so the x0
estimate is x_t + r; the network's last layer starts at zero, so a fresh finisher starts as the
identity on x_t (a skip connection with unit weight, c_skip = 1 in the EDM preconditioning of
Karras et al. 2022, and the zero-initialised output of ControlNet). Used with a level close to 0,
x_t is the draft's x̂0 up to t·(z − x̂0), and r learns only the teacher's last correction
(``planners.finisher``). Flow objective only: t is recovered from the network time τ = t·N.
On the Push-T keypoint model a skip MLP trained this way learned little of that correction (0.0095
→ 0.0091 RMSE against the draft's 0.0092; videos/bench/pusht_student.md, stop 33).

Call: ``net(x (B, H, Da), τ (B,) network time, cond (B, Dc)) -> v (B, H, Da)``.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


def zero_last_layer(net: nn.Module) -> nn.Module:
    """Zero the weight and bias of ``net``'s last registered linear or convolution layer (its
    output layer in the U-Net, MLP and transformer backbones), so that it starts out returning 0."""
    last = None
    for m in net.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d)):
            last = m
    if last is None:
        raise ValueError(f"{type(net).__name__} has no linear or convolution layer to zero")
    with torch.no_grad():
        last.weight.zero_()
        if last.bias is not None:
            last.bias.zero_()
    return net


class X0Skip(nn.Module):
    """``v = −net(x, τ, cond) / t`` with t = τ / ``num_train_steps`` (floored at ``min_t``): the
    wrapped ``net`` predicts the correction r = x0 − x_t; its output layer is zeroed here."""

    def __init__(self, net: nn.Module, num_train_steps: int, *, min_t: float = 1e-4) -> None:
        super().__init__()
        self.net = zero_last_layer(net)
        self.num_train_steps = float(num_train_steps)
        self.min_t = float(min_t)

    def forward(self, x: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        r = self.net(x, t, cond)  # (B, H, Da) correction to x_t
        flow_t = (t.float() / self.num_train_steps).clamp_min(self.min_t)  # (B,) or (1,)
        return -r / flow_t.reshape(-1, 1, 1)  # (B, H, Da) velocity


__all__ = ["X0Skip", "zero_last_layer"]
