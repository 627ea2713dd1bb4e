"""RTC's pseudo-inverse (ΠGDM) guidance: the closed-form shift for a linear network, an exact frozen
prefix, and a pull on the whole chunk toward a plan that continues the old one."""
from __future__ import annotations

import pytest
import torch

from parapolicy.planners.rtc import InpaintingDenoiser, rtc_weights
from parapolicy.planners.rtc_pigdm import MAX_GUIDANCE, PinvGuidedDenoiser, guidance_weight
from parapolicy.planners.schedule_math import affine_coefficients, output_from_x0, x0_from_output
from planner_helpers import MLPDenoiser, rtc_case, schedules

torch.set_num_threads(1)
B, H, DA = 3, 8, 2
DC = H * DA + 4


class LinearX0Denoiser:
    """Implies ``x0 = A·x_t`` (flattened chunk): its Jacobian ∂x̂0/∂x_t is the matrix A."""

    def __init__(self, schedule, A: torch.Tensor) -> None:
        self.schedule, self.A = schedule, A  # A: (H·Da, H·Da)

    def __call__(self, x_t, t, cond):
        x0 = (x_t.reshape(x_t.shape[0], -1) @ self.A.T).reshape(x_t.shape)  # (R, H, Da)
        return output_from_x0(self.schedule, x0, x_t, t)


def test_guidance_weight_is_clipped_at_pure_noise() -> None:
    a = torch.tensor([0.0, 0.5, 0.8, 1.0]).reshape(-1, 1, 1)
    b = torch.tensor([1.0, 0.5, 0.6, 0.0]).reshape(-1, 1, 1)
    k = guidance_weight(a, b).flatten()
    # flow at τ = 0.5: (1 − τ)/(τ r²) with r² = 1/2 is 2; VP with a = 0.8, b = 0.6: 1/(a b)
    torch.testing.assert_close(k, torch.tensor([MAX_GUIDANCE, 2.0, 1 / 0.48, MAX_GUIDANCE]))


@pytest.mark.parametrize("kind", ["ddpm", "ddim", "flow"])
def test_shift_is_the_pseudo_inverse_step_for_a_linear_network(kind: str) -> None:
    sch = schedules()[kind]
    g = torch.Generator().manual_seed(3)
    D = H * DA
    A = torch.randn(D, D, generator=g) * 0.2  # dense: every position sees every other
    target = torch.rand(B, H, DA, generator=g) * 1.6 - 0.8  # (B, H, Da)
    w = rtc_weights(H, 2, 6, "pigdm")  # (H,) 1, 1, soft ×4, 0, 0
    net = LinearX0Denoiser(sch, A)
    den = PinvGuidedDenoiser(net, sch, target, w)
    level = sch.timesteps(10)[4]
    t = torch.full((B,), float(level)) if kind == "flow" else torch.full((B,), int(level))
    x_t = torch.randn(B, H, DA, generator=g)  # (B, H, Da)
    with torch.no_grad():  # samplers call it without autograd; the wrapper turns it on itself
        got = x0_from_output(sch, den(x_t, t, torch.zeros(B, 1)), x_t, t)  # (B, H, Da)
    own = (x_t.reshape(B, -1) @ A.T).reshape(B, H, DA)  # (B, H, Da)
    resid = (w[None, :, None] * (target - own)).reshape(B, -1)  # (B, H·Da)
    a, b = affine_coefficients(sch, t, x_t)
    want = own + (b * guidance_weight(a, b)).float() * (resid @ A).reshape(B, H, DA)  # Aᵀ·W(target − x̂0)
    want[:, :2] = target[:, :2]
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
    assert (got[:, 6:] - own[:, 6:]).abs().max() > 1e-3  # unlike a blend, the free tail moves too
    zero = PinvGuidedDenoiser(net, sch, target, torch.zeros(H))
    torch.testing.assert_close(zero(x_t, t, torch.zeros(B, 1)), net(x_t, t, None))


@pytest.mark.parametrize("kind", ["ddpm", "ddim", "flow"])
@pytest.mark.parametrize("picard", [False, True])
def test_frozen_prefix_is_exact_and_the_overlap_follows(kind: str, picard: bool) -> None:
    case = rtc_case(kind, picard, B=B, H=H, Da=DA, Dc=DC)
    sch, cond, target, x, noises = case["sch"], case["cond"], case["target"], case["x"], case["noises"]
    net, sampler, K = case["net"], case["sampler"], case["K"]
    with torch.no_grad():
        calls = net.calls
        frozen = sampler.sample(InpaintingDenoiser(net, sch, target, rtc_weights(H, 3, 6, "frozen")), cond,
                                x_init=x, noises=noises).x0
        res = sampler.sample(PinvGuidedDenoiser(net, sch, target, rtc_weights(H, 3, 6, "pigdm")), cond,
                             x_init=x, noises=noises)
    if not picard:  # one network call (forward + backward) per step, like the blend
        assert net.calls - calls == 2 * K and res.nfe == K
    torch.testing.assert_close(res.x0[:, :3], target[:, :3], atol=1e-5, rtol=0)
    err = lambda x0: (x0[:, 3:6] - target[:, 3:6]).pow(2).mean()  # noqa: E731
    assert err(res.x0) < err(frozen)


def test_pigdm_input_errors() -> None:
    sch = schedules()["flow"]
    net = MLPDenoiser(H, DA, DC)
    with pytest.raises(ValueError, match="weights"):
        PinvGuidedDenoiser(net, sch, torch.zeros(B, H, DA), torch.ones(H + 1))
    with pytest.raises(ValueError, match="max_guidance"):
        PinvGuidedDenoiser(net, sch, torch.zeros(B, H, DA), torch.ones(H), max_guidance=-1.0)
    den = PinvGuidedDenoiser(net, sch, torch.zeros(B, H, DA), torch.ones(H))
    with pytest.raises(ValueError, match="batch"):
        den(torch.zeros(B + 1, H, DA), torch.ones(B + 1), torch.zeros(B + 1, DC))
