"""Schedule math against closed-form equations computed independently here."""
import math

import pytest
import torch

from parapolicy.policies.schedules import DDIMSchedule, DDPMSchedule, FlowSchedule, make_schedule

T = 100


def closed_form_alpha_bar(T: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """ᾱ_t of the squared-cosine schedule, written out from Nichol & Dhariwal (2021)."""
    f = [math.cos(((i / T) + s) / (1 + s) * math.pi / 2) ** 2 for i in range(T + 1)]
    out, prod = [], 1.0
    for i in range(T):
        beta = min(1 - f[i + 1] / f[i], max_beta)
        prod *= 1 - beta
        out.append(prod)
    return torch.tensor(out, dtype=torch.float64)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_alpha_bar_matches_closed_form():
    sch = DDPMSchedule(T)
    ab = closed_form_alpha_bar(T)
    torch.testing.assert_close(sch.alphas_cumprod, ab, rtol=1e-12, atol=1e-12)
    t = torch.tensor([-1, 0, 50, 99])
    torch.testing.assert_close(sch.alpha_bar(t), torch.cat([torch.ones(1, dtype=torch.float64), ab[[0, 50, 99]]]))


def test_add_noise_matches_closed_form():
    sch = DDPMSchedule(T)
    ab = closed_form_alpha_bar(T)
    g = gen()
    x0 = torch.randn(32, 16, 2, generator=g)
    eps = torch.randn(32, 16, 2, generator=g)
    t = torch.randint(0, T, (32,), generator=g)
    expect = ab[t].sqrt().float()[:, None, None] * x0 + (1 - ab[t]).sqrt().float()[:, None, None] * eps
    torch.testing.assert_close(sch.add_noise(x0, eps, t), expect, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("stride", [1, 7])
def test_posterior_mean_and_variance_closed_form(stride):
    """q(x_{t'} | x_t, x0) for per-row t (adjacent levels and strided ones)."""
    sch = DDPMSchedule(T, clip_sample=False)
    ab = closed_form_alpha_bar(T)
    g = gen(1)
    B = 24
    t = torch.randint(stride, T, (B,), generator=g)
    tp = t - stride
    x0 = torch.randn(B, 16, 2, generator=g, dtype=torch.float64)
    xt = torch.randn(B, 16, 2, generator=g, dtype=torch.float64)
    mean, std = sch.posterior(x0, xt, t, tp)
    for b in range(B):
        a_t, a_p = ab[t[b]].item(), ab[tp[b]].item()
        alpha = a_t / a_p
        beta = 1 - alpha
        m = math.sqrt(a_p) * beta / (1 - a_t) * x0[b] + math.sqrt(alpha) * (1 - a_p) / (1 - a_t) * xt[b]
        var = (1 - a_p) / (1 - a_t) * beta
        torch.testing.assert_close(mean[b], m, rtol=1e-9, atol=1e-9)
        torch.testing.assert_close(std[b].flatten()[0].item() ** 2, var, rtol=1e-9, atol=1e-12)
    # to the clean sample: the mean is x0 itself, no noise
    mean0, std0 = sch.posterior(x0, xt, t, torch.full_like(t, -1))
    torch.testing.assert_close(mean0, x0)
    assert float(std0.abs().max()) == 0.0


def test_ddpm_step_with_true_noise_recovers_x0():
    sch = DDPMSchedule(T, clip_sample=False)
    g = gen(2)
    x0 = torch.randn(8, 16, 2, generator=g)
    eps = torch.randn(8, 16, 2, generator=g)
    t = torch.randint(0, T, (8,), generator=g)
    xt = sch.add_noise(x0, eps, t)
    out = sch.step(eps, t, torch.full_like(t, -1), xt, noise=torch.randn(8, 16, 2, generator=g))
    torch.testing.assert_close(out.prev, x0, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(out.x0_hat, x0, rtol=1e-4, atol=1e-4)


def test_step_is_vectorized_over_rows():
    """A batch of rows at different levels equals the rows stepped one by one."""
    for sch in (DDPMSchedule(T), DDIMSchedule(T), FlowSchedule(T)):
        g = gen(3)
        xt = torch.randn(5, 16, 2, generator=g)
        out = torch.randn(5, 16, 2, generator=g)
        z = torch.randn(5, 16, 2, generator=g)
        ts = sch.timesteps(10)
        t, tp = ts[[0, 2, 4, 6, 9]], ts[[1, 3, 5, 7, 10]]
        full = sch.step(out, t, tp, xt, z).prev
        for b in range(5):
            one = sch.step(out[b:b + 1], t[b:b + 1], tp[b:b + 1], xt[b:b + 1], z[b:b + 1]).prev
            torch.testing.assert_close(full[b:b + 1], one)


def test_ddim_eta1_equals_ddpm_ancestral():
    ddpm = DDPMSchedule(T, clip_sample=False)
    ddim = DDIMSchedule(T, clip_sample=False, eta=1.0)
    g = gen(4)
    B = 16
    t = torch.randint(1, T, (B,), generator=g)
    tp = (t - torch.randint(1, 10, (B,), generator=g)).clamp(min=-1)
    xt = torch.randn(B, 16, 2, generator=g)
    eps = torch.randn(B, 16, 2, generator=g)
    z = torch.randn(B, 16, 2, generator=g)
    torch.testing.assert_close(ddim.step(eps, t, tp, xt, z).prev, ddpm.step(eps, t, tp, xt, z).prev,
                               rtol=1e-4, atol=1e-5)


def gaussian_eps(sch, mu, s):
    """Exact ε-predictor for data x0 ~ N(mu, s²I)."""
    def f(x, t):
        ab = sch.alpha_bar(t).float().reshape(-1, 1, 1)
        return (1 - ab).sqrt() * (x - ab.sqrt() * mu) / (ab * s * s + 1 - ab)
    return f


def test_ddim_eta0_stays_close_to_ddpm_mean_path():
    """With K = 100 (single-level steps) a deterministic DDIM step and the DDPM posterior-mean step
    from the same point differ by (√(1-ᾱ') - √(1-ᾱ'-σ²))·ε̂ ≤ σ·|ε̂|, typically a small fraction of
    it; for a point-mass data distribution both trajectories end exactly at the data."""
    ddpm = DDPMSchedule(T, clip_sample=False)
    ddim = DDIMSchedule(T, clip_sample=False, eta=0.0)
    g = gen(5)
    mu = torch.randn(4, 16, 2, generator=g) * 0.5
    eps_fn = gaussian_eps(ddpm, mu, 0.3)
    ts = ddim.timesteps(100)
    assert ts.tolist() == list(range(99, -2, -1))
    x = torch.randn(4, 16, 2, generator=g)
    ratios = []
    for i in range(100):
        t, tp = ts[i].expand(4), ts[i + 1].expand(4)
        e = eps_fn(x, t)
        nxt = ddim.step(e, t, tp, x).prev
        mean = ddpm.step(e, t, tp, x, None).prev
        sigma = ddpm.step_std(t, tp)[0].item()
        if i < 99:  # the last step is the same for both (σ = 0)
            ab_p = ddpm.alpha_bar(tp)[0].item()
            x0 = ddpm.predict_x0(e, t, x)
            eh = (x - ddpm.alpha_bar(t)[0].float().sqrt() * x0) / (1 - ddpm.alpha_bar(t)[0].float()).sqrt()
            gap = (math.sqrt(1 - ab_p) - math.sqrt(max(1 - ab_p - sigma ** 2, 0))) * eh
            torch.testing.assert_close(nxt - mean, gap, rtol=1e-3, atol=1e-5)
            ratios.append(float((nxt - mean).abs().max()) / max(sigma, 1e-8) / float(eh.abs().max()))
        x = nxt
    # the gap never exceeds the noise DDPM would inject, and is a small fraction of it at most levels
    assert max(ratios) <= 1.0 + 1e-3
    assert sorted(ratios)[len(ratios) // 2] < 0.2, sorted(ratios)[::10]
    # point mass: the x0 prediction is exact at every level, both paths land on the data
    target = torch.randn(2, 16, 2, generator=g) * 0.5
    point = gaussian_eps(ddpm, target, 0.0)
    xa = xb = torch.randn(2, 16, 2, generator=g)
    for i in range(100):
        t, tp = ts[i].expand(2), ts[i + 1].expand(2)
        xa = ddim.step(point(xa, t), t, tp, xa).prev
        xb = ddpm.step(point(xb, t), t, tp, xb, None).prev
    torch.testing.assert_close(xa, target, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(xb, target, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("K", [1, 3, 10])
def test_flow_euler_with_exact_velocity_is_exact(K):
    sch = FlowSchedule(T)
    g = gen(6)
    x0 = torch.randn(6, 16, 2, generator=g)
    eps = torch.randn(6, 16, 2, generator=g)
    ts = sch.timesteps(K)
    x = sch.add_noise(x0, eps, ts[0].expand(6))
    torch.testing.assert_close(x, eps)
    for i in range(K):
        t, tp = ts[i].expand(6), ts[i + 1].expand(6)
        v = sch.training_target(x0, eps, t)
        out = sch.step(v, t, tp, x)
        torch.testing.assert_close(out.x0_hat, x0, rtol=1e-5, atol=1e-5)
        x = out.prev
    torch.testing.assert_close(x, x0, rtol=1e-5, atol=1e-5)


def test_timesteps_and_factory():
    ddpm = make_schedule("ddpm")
    ts = ddpm.timesteps(10)
    assert ts.shape == (11,) and ts[0] == 99 and ts[-1] == -1 and (ts[1:] < ts[:-1]).all()
    flow = make_schedule("flow")
    tf = flow.timesteps(4)
    torch.testing.assert_close(tf, torch.tensor([1.0, 0.75, 0.5, 0.25, 0.0]))
    assert isinstance(make_schedule("ddim"), DDIMSchedule)
    with pytest.raises(ValueError, match="allowed: ddpm, ddim, flow"):
        make_schedule("euler")
    with pytest.raises(ValueError, match="num_steps"):
        ddpm.timesteps(101)


def test_training_targets_and_times():
    g = gen(7)
    x0, eps = torch.randn(4, 16, 2, generator=g), torch.randn(4, 16, 2, generator=g)
    ddpm, flow = DDPMSchedule(T), FlowSchedule(T)
    t = ddpm.sample_train_t(1000, generator=g)
    assert t.min() >= 0 and t.max() <= T - 1 and t.dtype == torch.long
    tf = flow.sample_train_t(1000, generator=g)
    assert tf.min() >= 0 and tf.max() <= 1
    torch.testing.assert_close(ddpm.training_target(x0, eps, t[:4]), eps)
    torch.testing.assert_close(flow.training_target(x0, eps, tf[:4]), eps - x0)
    torch.testing.assert_close(flow.network_time(torch.tensor([0.5])), torch.tensor([50.0]))


def test_flow_time_power_grid():
    """ρ places the K steps at (1 - k/K)^ρ, dense toward the data end; Euler stays exact on straight paths."""
    sch = FlowSchedule(T, time_power=2.0)
    torch.testing.assert_close(sch.timesteps(4), torch.tensor([1.0, 0.5625, 0.25, 0.0625, 0.0]))
    assert torch.equal(FlowSchedule(T, time_power=1).timesteps(7), FlowSchedule(T).timesteps(7))
    g = gen(8)
    x0, eps = torch.randn(3, 16, 2, generator=g), torch.randn(3, 16, 2, generator=g)
    ts = sch.timesteps(5)
    x = eps
    for i in range(5):
        t, tp = ts[i].expand(3), ts[i + 1].expand(3)
        x = sch.step(sch.training_target(x0, eps, t), t, tp, x).prev
    torch.testing.assert_close(x, x0, rtol=1e-5, atol=1e-5)
    for bad in (0, -1.0, float("nan"), True, "2"):
        with pytest.raises(ValueError, match="time power must be a number > 0"):
            FlowSchedule(T, time_power=bad)
