"""Real-time-chunking inpainting: frozen prefix exact, guided overlap pulled toward the old chunk."""
from __future__ import annotations

import pytest
import torch

from parapolicy.planners.base import presample_noise
from parapolicy.planners.picard import PicardSampler
from parapolicy.planners.rtc import InpaintingDenoiser, rtc_weights
from parapolicy.planners.sequential import SequentialSampler
from planner_helpers import GaussianDenoiser, MLPDenoiser, schedules

torch.set_num_threads(1)
B, H, DA = 3, 8, 2
DC = H * DA + 4


def test_weights_shape_and_modes() -> None:
    assert torch.equal(rtc_weights(H, 3, 6, "naive"), torch.zeros(H))
    assert torch.equal(rtc_weights(H, 3, 6, "frozen"), torch.tensor([1.0] * 3 + [0.0] * 5))
    w = rtc_weights(H, 3, 6, "guided")
    assert torch.equal(w[:3], torch.ones(3)) and torch.equal(w[6:], torch.zeros(2))
    assert (w[3:6] > 0).all() and (w[3:6] < 1).all() and (w[3:6].diff() < 0).all()
    with pytest.raises(ValueError, match="mode"):
        rtc_weights(H, 3, 6, "soft")
    with pytest.raises(ValueError, match="frozen"):
        rtc_weights(H, 7, 6, "guided")


@pytest.mark.parametrize("kind", ["ddpm", "ddim", "flow"])
@pytest.mark.parametrize("picard", [False, True])
def test_frozen_prefix_is_exact_and_guidance_pulls(kind: str, picard: bool) -> None:
    sch = schedules()[kind]
    K = 20
    g = torch.Generator().manual_seed(0)
    cond = torch.randn(B, DC, generator=g) * 0.5  # (B, Dc)
    target = torch.rand(B, H, DA, generator=g) * 1.8 - 0.9  # (B, H, Da) old chunk, aligned
    x = torch.randn(B, H, DA, generator=g)  # (B, H, Da)
    noises = presample_noise(K, (B, H, DA), generator=g)  # (K, B, H, Da)
    net = MLPDenoiser(H, DA, DC)
    sampler = PicardSampler(sch, steps=K, window=5, tol=0.0) if picard else SequentialSampler(sch, steps=K)
    out = {}
    for mode in ("naive", "frozen", "guided"):
        den = InpaintingDenoiser(net, sch, target, rtc_weights(H, 3, 6, mode))
        out[mode] = sampler.sample(den, cond, x_init=x, noises=noises).x0
    for mode in ("frozen", "guided"):
        torch.testing.assert_close(out[mode][:, :3], target[:, :3], atol=1e-5, rtol=0)
    assert (out["naive"][:, :3] - target[:, :3]).abs().max() > 0.1
    # soft guidance brings the rest of the overlap closer than freezing the prefix alone
    err = lambda m: (out[m][:, 3:6] - target[:, 3:6]).pow(2).mean()  # noqa: E731
    assert err("guided") < err("frozen")


def test_inpainting_input_errors() -> None:
    sch = schedules()["flow"]
    net = GaussianDenoiser(sch, H, DA)
    with pytest.raises(ValueError, match="weights"):
        InpaintingDenoiser(net, sch, torch.zeros(B, H, DA), torch.ones(H + 1))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        InpaintingDenoiser(net, sch, torch.zeros(B, H, DA), torch.full((H,), 2.0))
