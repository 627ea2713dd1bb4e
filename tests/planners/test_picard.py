"""Picard (ParaDiGMS) sampler: equals the sequential sampler at τ=0, is shallower at τ=0.1."""
from __future__ import annotations

import pytest
import torch

from parapolicy.planners.base import Budget, presample_noise
from parapolicy.planners.picard import PicardSampler
from parapolicy.planners.sequential import SequentialSampler
from planner_helpers import GaussianDenoiser, MLPDenoiser, schedules

torch.set_num_threads(1)
B, H, DA = 3, 8, 2
DC = H * DA + 4


def _inputs(seed: int, K: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    cond = torch.randn(B, DC, generator=g) * 0.5  # (B, Dc)
    x = torch.randn(B, H, DA, generator=g)  # (B, H, Da)
    noises = presample_noise(K, (B, H, DA), generator=g)  # (K, B, H, Da)
    return cond, x, noises


@pytest.mark.parametrize("kind", ["ddpm", "ddim", "flow"])
@pytest.mark.parametrize("net", ["gauss", "mlp"])
def test_picard_tol0_equals_sequential(kind: str, net: str) -> None:
    sch = schedules()[kind]
    K = 30
    cond, x, noises = _inputs(1, K)
    den = GaussianDenoiser(sch, H, DA, 0.3) if net == "gauss" else MLPDenoiser(H, DA, DC)
    seq = SequentialSampler(sch, steps=K).sample(den, cond, x_init=x, noises=noises)
    for window, look in ((1, False), (4, False), (64, False), (4, True), (7, True)):
        par = PicardSampler(sch, steps=K, window=window, tol=0.0, lookahead=look).sample(
            den, cond, x_init=x, noises=noises)
        assert par.converged and seq.converged
        torch.testing.assert_close(par.x0, seq.x0, atol=1e-5, rtol=1e-5)
        assert par.depth <= K
        assert par.nfe >= par.depth


def test_picard_tol0_equals_sequential_from_start_index() -> None:
    sch = schedules()["ddpm"]
    K = 20
    cond, x, noises = _inputs(2, K)
    den = GaussianDenoiser(sch, H, DA, 0.3)
    seq = SequentialSampler(sch, steps=K).sample(den, cond, x_init=x, start_index=7, noises=noises)
    par = PicardSampler(sch, steps=K, window=5, tol=0.0).sample(den, cond, x_init=x, start_index=7, noises=noises)
    torch.testing.assert_close(par.x0, seq.x0, atol=1e-5, rtol=1e-5)
    assert seq.nfe == seq.depth == K - 7


@pytest.mark.parametrize("kind,K", [("ddpm", 100), ("ddim", 50), ("flow", 50)])
def test_picard_is_shallower_at_default_tol(kind: str, K: int) -> None:
    sch = schedules()[kind]
    cond, x, noises = _inputs(3, K)
    den = GaussianDenoiser(sch, H, DA, 0.3)
    seq = SequentialSampler(sch, steps=K).sample(den, cond, x_init=x, noises=noises)
    par = PicardSampler(sch, steps=K, window=16, tol=0.1).sample(den, cond, x_init=x, noises=noises)
    assert par.converged
    assert par.depth < K / 2, par.depth
    assert par.nfe >= par.depth
    # the converged sample stays close to the sequential one (tolerance is in units of step noise)
    assert (par.x0 - seq.x0).abs().max() < 0.05


@pytest.mark.parametrize("kind", ["ddpm", "ddim", "flow"])
def test_picard_lookahead_saves_passes_and_keeps_the_sample(kind: str) -> None:
    # the Gaussian denoiser's x0 prediction settles early, so guesses rolled toward it start near the
    # fixed point; without lookahead those levels enter the window as copies of one state
    sch = schedules()[kind]
    K = 60
    cond, x, noises = _inputs(4, K)
    den = GaussianDenoiser(sch, H, DA, 0.3)
    plain = PicardSampler(sch, steps=K, window=8, tol=0.1).sample(den, cond, x_init=x, noises=noises)
    look = PicardSampler(sch, steps=K, window=8, tol=0.1, lookahead=True).sample(den, cond, x_init=x, noises=noises)
    assert plain.converged and look.converged
    assert look.depth < plain.depth, (look.depth, plain.depth)
    assert (look.x0 - plain.x0).abs().max() < 0.05


def test_picard_batch_counts_and_rows_per_call() -> None:
    sch = schedules()["ddim"]
    K = 20
    cond, x, noises = _inputs(4, K)
    den = GaussianDenoiser(sch, H, DA, 0.3)
    res = PicardSampler(sch, steps=K, window=6, tol=0.1).sample(den, cond, x_init=x, noises=noises)
    assert den.calls == res.depth  # one batched call per pass
    assert den.rows == res.nfe * B  # nfe = rows evaluated / B


def test_picard_init_trajectory_shape_checked() -> None:
    sch = schedules()["flow"]
    cond, x, noises = _inputs(5, 10)
    with pytest.raises(ValueError, match="init_trajectory"):
        PicardSampler(sch, steps=10).sample(GaussianDenoiser(sch, H, DA), cond, x_init=x,
                                            noises=noises, init_trajectory=torch.zeros(3, B, H, DA))


@pytest.mark.parametrize("window", [0, -2, 1.5, "4"])
def test_picard_window_must_be_positive_int(window: object) -> None:
    with pytest.raises(ValueError, match="window"):
        PicardSampler(schedules()["ddim"], steps=10, window=window)  # type: ignore[arg-type]


@pytest.mark.parametrize("tol", [-0.1, float("nan"), float("inf")])
def test_picard_bad_tol(tol: float) -> None:
    with pytest.raises(ValueError, match="tol"):
        PicardSampler(schedules()["ddim"], steps=10, tol=tol)


def test_picard_max_nfe_and_max_passes_respected() -> None:
    sch = schedules()["ddpm"]
    K = 50
    cond, x, noises = _inputs(6, K)
    den = GaussianDenoiser(sch, H, DA, 0.3)
    res = PicardSampler(sch, steps=K, window=8, tol=0.1).sample(den, cond, x_init=x, noises=noises,
                                                                 budget=Budget(max_nfe=13))
    assert res.nfe <= 13 and not res.converged
    assert res.x0.shape == (B, H, DA) and torch.isfinite(res.x0).all()
    res = PicardSampler(sch, steps=K, window=8, tol=0.0, max_passes=3).sample(den, cond, x_init=x, noises=noises)
    assert res.depth == 3 and not res.converged and res.extra["stop"] == "max_passes"
