"""Real-time-chunking inpainting: frozen prefix exact, guided overlap pulled toward the old chunk."""
from __future__ import annotations

import pytest
import torch

from parapolicy.planners.rtc import InpaintingDenoiser, rtc_weights
from planner_helpers import GaussianDenoiser, rtc_case, schedules

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
    case = rtc_case(kind, picard, B=B, H=H, Da=DA, Dc=DC)
    sch, cond, target, x, noises = case["sch"], case["cond"], case["target"], case["x"], case["noises"]
    net, sampler = case["net"], case["sampler"]
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


@pytest.mark.parametrize("kind", ["ddpm", "ddim", "flow"])
def test_soft_pull_fades_with_noise_and_frozen_stays_hard(kind: str) -> None:
    from parapolicy.planners.schedule_math import noise_scale, x0_from_output
    from planner_helpers import ConstantX0Denoiser

    sch = schedules()[kind]
    g = torch.Generator().manual_seed(1)
    own = torch.rand(B, H, DA, generator=g) * 1.6 - 0.8  # (B, H, Da) what the network implies
    target = torch.rand(B, H, DA, generator=g) * 1.6 - 0.8  # (B, H, Da)
    w = rtc_weights(H, 3, 6, "guided")  # (H,) 1, 1, 1, soft, soft, soft, 0, 0
    levels = sch.timesteps(10)[:-1]  # noisiest first, the terminal level excluded
    for power in (0.0, 2.0):
        den = InpaintingDenoiser(ConstantX0Denoiser(sch, own), sch, target, w, soft_power=power)
        pulls = []
        for level in levels:
            t = torch.full((B,), float(level)) if kind == "flow" else torch.full((B,), int(level))
            x_t = torch.randn(B, H, DA, generator=g)  # (B, H, Da)
            x0 = x0_from_output(sch, den(x_t, t, torch.zeros(B, 1)), x_t, t)  # (B, H, Da)
            pull = ((x0 - own) / (target - own))[:, :, 0].mean(0)  # (H,) fraction of the gap closed
            fade = float(noise_scale(sch, t, x_t)[0]) ** power
            torch.testing.assert_close(pull[:3], torch.ones(3), atol=1e-3, rtol=0)
            torch.testing.assert_close(pull[3:6], w[3:6] * fade, atol=1e-3, rtol=0)
            torch.testing.assert_close(pull[6:], torch.zeros(H - 6), atol=1e-3, rtol=0)
            pulls.append(pull[3:6])
        if power == 0:  # a constant blend pulls as hard at the last step as at the first
            torch.testing.assert_close(pulls[-1], pulls[0], atol=1e-3, rtol=0)
        else:  # the pull is strong while noisy and nearly gone at the last step
            assert (pulls[0] > 0.5 * w[3:6]).all() and (pulls[-1] < 0.05 * w[3:6]).all()
    with pytest.raises(ValueError, match="soft_power"):
        InpaintingDenoiser(ConstantX0Denoiser(sch, own), sch, target, w, soft_power=-1.0)
