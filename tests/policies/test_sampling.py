"""The one sequential sampling loop: noise handling, early stop, start index, exactness."""
import pytest
import torch

from parapolicy.policies.sampling import denoise, needs_step_noise
from parapolicy.policies.schedules import DDIMSchedule, DDPMSchedule, FlowSchedule


class PointMass:
    """Exact denoiser for data concentrated at ``target``: ε or velocity implied by x0 = target."""

    def __init__(self, schedule, target):
        self.schedule, self.target, self.calls, self.ts = schedule, target, 0, []

    def __call__(self, x, t, cond):
        self.calls += 1
        self.ts.append(t.clone())
        assert t.shape == (x.shape[0],)
        if isinstance(self.schedule, FlowSchedule):
            tt = t.float().reshape(-1, 1, 1)
            return (x - self.target) / tt.clamp(min=1e-6)  # v = ε - x0 with ε = (x - (1-t)x0)/t
        ab = self.schedule.alpha_bar(t).float().reshape(-1, 1, 1)
        return (x - ab.sqrt() * self.target) / (1 - ab).sqrt()


@pytest.mark.parametrize("schedule", [DDPMSchedule(100), DDIMSchedule(100), FlowSchedule(100)],
                         ids=["ddpm", "ddim", "flow"])
def test_exact_denoiser_lands_on_data(schedule):
    g = torch.Generator().manual_seed(0)
    target = torch.rand(3, 16, 2, generator=g) - 0.5
    den = PointMass(schedule, target)
    ts = schedule.timesteps(10)
    out = denoise(den, schedule, torch.randn(3, 16, 2, generator=g), torch.zeros(3, 1), ts, generator=g)
    assert out.completed and out.steps_done == 10 and den.calls == 10
    torch.testing.assert_close(out.x0, target, rtol=1e-3, atol=1e-3)
    # per-row t is the level expanded to (B,)
    assert [float(t[0]) for t in den.ts] == [float(v) for v in ts[:-1]]


def test_ddpm_uses_presampled_noise_and_ddim_ignores_it():
    g = torch.Generator().manual_seed(1)
    x_init = torch.randn(2, 16, 2, generator=g)
    cond = torch.zeros(2, 1)

    def den(x, t, c):
        return 0.5 * x

    ddpm = DDPMSchedule(100)
    ts = ddpm.timesteps(5)
    noises = torch.randn(5, 2, 16, 2, generator=g)
    a = denoise(den, ddpm, x_init, cond, ts, noises=noises).x0
    b = denoise(den, ddpm, x_init, cond, ts, noises=noises).x0
    c = denoise(den, ddpm, x_init, cond, ts, noises=torch.randn(5, 2, 16, 2, generator=g)).x0
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)
    # the manual loop with the same noise
    x = x_init
    for i in range(5):
        t, tp = ts[i].expand(2), ts[i + 1].expand(2)
        x = ddpm.step(den(x, t, cond), t, tp, x, noises[i]).prev
    torch.testing.assert_close(a, x)
    ddim = DDIMSchedule(100)
    d1 = denoise(den, ddim, x_init, cond, ts, noises=noises).x0
    d2 = denoise(den, ddim, x_init, cond, ts, noises=torch.randn(5, 2, 16, 2, generator=g)).x0
    torch.testing.assert_close(d1, d2)
    assert needs_step_noise(ddpm) and not needs_step_noise(ddim) and not needs_step_noise(FlowSchedule())
    assert needs_step_noise(DDIMSchedule(100, eta=0.5))


def test_generator_makes_ddpm_reproducible():
    ddpm = DDPMSchedule(100)
    ts = ddpm.timesteps(8)
    x_init = torch.randn(1, 16, 2)

    def den(x, t, c):
        return torch.zeros_like(x)

    a = denoise(den, ddpm, x_init, None, ts, generator=torch.Generator().manual_seed(3)).x0
    b = denoise(den, ddpm, x_init, None, ts, generator=torch.Generator().manual_seed(3)).x0
    torch.testing.assert_close(a, b)


def test_should_stop_and_start_index():
    sch = FlowSchedule(100)
    ts = sch.timesteps(10)
    calls = []

    def den(x, t, c):
        calls.append(float(t[0]))
        return torch.ones_like(x)

    x_init = torch.zeros(1, 16, 2)
    out = denoise(den, sch, x_init, None, ts, should_stop=lambda i: i >= 4)
    assert out.steps_done == 4 and not out.completed
    # anytime: the x0 estimate of the last step done (at t = 0.7, x_t = -0.3: x_t - t·v = -1)
    torch.testing.assert_close(out.x0, torch.full((1, 16, 2), -1.0))
    # the first step always runs even if should_stop says stop
    calls.clear()
    out = denoise(den, sch, x_init, None, ts, start_index=7, should_stop=lambda i: True)
    assert out.steps_done == 1 and calls == [pytest.approx(0.3)]
    out = denoise(den, sch, x_init, None, ts, start_index=7)
    assert out.completed and out.steps_done == 3
    with pytest.raises(ValueError, match="start_index"):
        denoise(den, sch, x_init, None, ts, start_index=11)
    with pytest.raises(ValueError, match="noises"):
        denoise(den, DDPMSchedule(100), x_init, None, DDPMSchedule(100).timesteps(10),
                noises=torch.zeros(9, 1, 16, 2))
