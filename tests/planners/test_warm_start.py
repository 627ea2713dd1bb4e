"""Warm start and amortized Picard initialization."""
from __future__ import annotations

import pytest
import torch

from parapolicy.planners.amortized_init import amortized_trajectory
from parapolicy.planners.base import presample_noise
from parapolicy.planners.picard import PicardSampler
from parapolicy.planners.sequential import SequentialSampler
from parapolicy.planners.warm_start import shift_chunk, warm_start
from planner_helpers import ConstantX0Denoiser, GaussianDenoiser, schedules

torch.set_num_threads(1)
B, H, DA = 2, 8, 2
DC = H * DA


def _data(seed: int, K: int):
    g = torch.Generator().manual_seed(seed)
    prev = torch.rand(B, H, DA, generator=g) * 2 - 1  # (B, H, Da) previous normalized chunk
    eps = torch.randn(B, H, DA, generator=g)  # (B, H, Da)
    cond = torch.randn(B, DC, generator=g) * 0.5  # (B, Dc)
    noises = presample_noise(K, (B, H, DA), generator=g)  # (K, B, H, Da)
    return prev, eps, cond, noises


def test_shift_pads_with_last_action() -> None:
    prev = torch.arange(B * H * DA, dtype=torch.float32).reshape(B, H, DA)
    out = shift_chunk(prev, 3)
    assert torch.equal(out[:, : H - 3], prev[:, 3:])
    assert torch.equal(out[:, H - 3:], prev[:, -1:].expand(-1, 3, -1))
    assert torch.equal(shift_chunk(prev, 0), prev)


@pytest.mark.parametrize("executed", [-1, H, 2.5])
def test_shift_rejects_bad_executed(executed: object) -> None:
    with pytest.raises(ValueError, match="executed"):
        shift_chunk(torch.zeros(B, H, DA), executed)  # type: ignore[arg-type]


def test_flow_warm_start_at_full_noise_is_exactly_fresh() -> None:
    """Flow's first level is t=1: add_noise returns the noise itself, bit for bit."""
    sch = schedules()["flow"]
    K = 10
    prev, eps, cond, noises = _data(0, K)
    ts = sch.timesteps(K)
    x_init, start = warm_start(prev, 0, sch, ts, 0, noise=eps)
    assert start == 0 and torch.equal(x_init, eps)
    den = GaussianDenoiser(sch, H, DA, 0.3)
    s = SequentialSampler(sch, ts)
    assert torch.equal(s.sample(den, cond, x_init=x_init, noises=noises).x0,
                       s.sample(den, cond, x_init=eps, noises=noises).x0)


@pytest.mark.parametrize("kind", ["ddpm", "ddim"])
def test_diffusion_warm_start_at_top_level_matches_fresh(kind: str) -> None:
    """DDPM/DDIM's top level keeps √ᾱ_top ≈ 5e-4 of the signal: x_init is within that bound of the
    noise, and the final sample is as close to the fresh one (far closer than a different noise)."""
    sch = schedules()[kind]
    K = 100 if kind == "ddpm" else 20
    prev, eps, cond, noises = _data(1, K)
    ts = sch.timesteps(K)
    x_init, _ = warm_start(prev, 0, sch, ts, 0, noise=eps)
    ab = float(sch.alpha_bar(ts[:1]))
    bound = ab ** 0.5 * prev.abs().max() + (1 - (1 - ab) ** 0.5) * eps.abs().max()
    assert (x_init - eps).abs().max() <= bound + 1e-7
    assert bound < 1e-3
    den = GaussianDenoiser(sch, H, DA, 0.3)
    s = SequentialSampler(sch, ts)
    warm = s.sample(den, cond, x_init=x_init, noises=noises).x0
    fresh = s.sample(den, cond, x_init=eps, noises=noises).x0
    other = s.sample(den, cond, x_init=torch.randn(B, H, DA, generator=torch.Generator().manual_seed(9)),
                     noises=noises).x0
    assert (warm - fresh).abs().max() < 1e-3
    if kind == "ddim":  # deterministic: the initial noise matters, the warm start's residue does not
        assert (other - fresh).abs().max() > 100 * (warm - fresh).abs().max()


@pytest.mark.parametrize("kind", ["ddpm", "ddim", "flow"])
def test_warm_start_midway_runs_remaining_steps(kind: str) -> None:
    sch = schedules()[kind]
    K = 20
    prev, eps, cond, noises = _data(2, K)
    ts = sch.timesteps(K)
    x_init, start = warm_start(prev, 4, sch, ts, 12, noise=eps)
    expected = sch.add_noise(shift_chunk(prev, 4), eps, ts[12].expand(B))
    torch.testing.assert_close(x_init, expected)
    res = SequentialSampler(sch, ts).sample(GaussianDenoiser(sch, H, DA), cond, x_init=x_init,
                                            start_index=start, noises=noises)
    assert res.nfe == res.depth == K - 12 and res.converged


def test_warm_start_rejects_bad_start_index() -> None:
    sch = schedules()["ddim"]
    with pytest.raises(ValueError, match="start_index"):
        warm_start(torch.zeros(B, H, DA), 0, sch, sch.timesteps(10), 10)


@pytest.mark.parametrize("kind", ["ddpm", "ddim", "flow"])
def test_amortized_init_is_the_fixed_point_of_a_constant_x0_denoiser(kind: str) -> None:
    """A denoiser that always implies x0*: the amortized trajectory toward x0* *is* its sampling
    trajectory, so Picard converges in ceil(K / P) passes instead of many more."""
    sch = schedules()[kind]
    K, P = 40, 10
    prev, eps, cond, noises = _data(3, K)
    ts = sch.timesteps(K)
    x_star = prev * 0.8  # (B, H, Da) inside the clip range
    den = ConstantX0Denoiser(sch, x_star)
    traj = amortized_trajectory(x_star, eps, sch, ts, noises=noises)
    seq = SequentialSampler(sch, ts).sample(den, cond, x_init=eps, noises=noises)
    torch.testing.assert_close(traj[-1], seq.x0, atol=1e-5, rtol=1e-5)
    cold = PicardSampler(sch, ts, window=P).sample(den, cond, x_init=eps, noises=noises)
    warm = PicardSampler(sch, ts, window=P).sample(den, cond, x_init=eps, noises=noises, init_trajectory=traj)
    assert warm.converged and warm.depth == K // P
    assert cold.depth > warm.depth
    torch.testing.assert_close(warm.x0, seq.x0, atol=1e-4, rtol=1e-4)


def test_amortized_init_cuts_passes_on_a_confident_gaussian_denoiser() -> None:
    """Narrow data (s=0.05): the x0 prediction barely moves along the trajectory, so starting from
    the trajectory toward a good estimate (here the sequential sample itself) saves passes."""
    sch = schedules()["ddpm"]
    K, P = 100, 16
    prev, eps, cond, noises = _data(4, K)
    ts = sch.timesteps(K)
    den = GaussianDenoiser(sch, H, DA, 0.05)
    x_ref = SequentialSampler(sch, ts).sample(den, cond, x_init=eps, noises=noises).x0
    cold = PicardSampler(sch, ts, window=P).sample(den, cond, x_init=eps, noises=noises)
    traj = amortized_trajectory(x_ref, eps, sch, ts, noises=noises)
    warm = PicardSampler(sch, ts, window=P).sample(den, cond, x_init=eps, noises=noises, init_trajectory=traj)
    assert warm.converged and warm.depth < cold.depth
    assert (warm.x0 - x_ref).abs().max() < 0.01
