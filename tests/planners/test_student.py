"""Distilled students from a (tiny, briefly trained) DiffusionPolicy teacher."""
from __future__ import annotations

import pytest
import torch

from parapolicy.policies.checkpoint import load_policy, save_checkpoint
from parapolicy.policies.config import PolicyConfig
from parapolicy.policies.ema import EMA
from parapolicy.policies.factory import make_policy
from parapolicy.planners.base import Budget
from parapolicy.planners.realtime import ChunkModel, MenuItem, RealtimePlanner
from parapolicy.planners.sequential import SequentialSampler
from parapolicy.planners.student import (StudentFit, chunk_loss, deterministic_schedule, distill,
                                         student_timesteps, teacher_trajectories)

torch.set_num_threads(1)


def _expert(obs: torch.Tensor) -> torch.Tensor:
    """A smooth obs → chunk map in [-1, 1]: (B, To, Do) → (B, 8, 2)."""
    o = obs.reshape(obs.shape[0], -1)
    ramp = torch.linspace(0, 1, 8)[None, :, None]
    return (torch.tanh(o[:, :2])[:, None, :] * (1 - ramp) + torch.sin(o[:, 2:4])[:, None, :] * ramp) * 0.9


def _teacher(objective: str, iters: int = 200) -> torch.nn.Module:
    """A tiny U-Net DiffusionPolicy trained briefly on the expert (a rough but smooth teacher)."""
    cfg = PolicyConfig(obs_dim=3, action_dim=2, pred_horizon=8, action_horizon=4, down_dims=(8, 16),
                       objective=objective, step_embed_dim=8, kernel_size=3)
    torch.manual_seed(0)  # before the network is built: its initial weights come from the global generator
    pol = make_policy(cfg)
    opt = torch.optim.AdamW(pol.model.parameters(), lr=1e-2)
    ema = EMA(max_decay=0.9)
    g = torch.Generator().manual_seed(0)
    for _ in range(iters):
        obs = torch.randn(64, 2, 3, generator=g)
        loss = pol.compute_loss(obs, _expert(obs))
        opt.zero_grad()
        loss.backward()
        opt.step()
        ema.update(pol.model, pol.ema)
    return pol.eval()


def test_student_levels() -> None:
    from parapolicy.policies.schedules import DDIMSchedule, FlowSchedule

    ts = student_timesteps(DDIMSchedule(100), 2)
    assert ts[-1] == -1 and ts.numel() == 3 and ts[0] < 99
    assert DDIMSchedule(100).alpha_bar(ts[:1]) >= 0.02
    assert torch.equal(student_timesteps(FlowSchedule(), 2), torch.tensor([1.0, 0.5, 0.0]))
    with pytest.raises(ValueError, match="student_steps"):
        student_timesteps(FlowSchedule(), 0)
    # chosen inner levels: the first and terminal levels stay, the middle ones are the caller's
    assert torch.allclose(student_timesteps(FlowSchedule(), 3, inner=[0.4, 0.1]), torch.tensor([1.0, 0.4, 0.1, 0.0]))
    top = int(ts[0])
    assert torch.equal(student_timesteps(DDIMSchedule(100), 2, inner=[10]), torch.tensor([top, 10, -1]))
    for bad in ([0.5, 0.6], [1.0, 0.2], [0.2], [0.0, -0.1]):
        with pytest.raises(ValueError, match="inner levels"):
            student_timesteps(FlowSchedule(), 3, inner=bad)
    for bad in ([2.5], [top], [-1]):
        with pytest.raises(ValueError, match="inner levels"):
            student_timesteps(DDIMSchedule(100), 2, inner=bad)


@pytest.mark.parametrize("objective,n", [("ddpm", 1), ("flow", 2)])
def test_distilled_student_matches_teacher_better_than_a_short_teacher(objective: str, n: int, tmp_path) -> None:
    teacher = _teacher(objective)
    data = [torch.randn(64, 2, 3, generator=torch.Generator().manual_seed(i)) for i in range(4)]
    student = distill(teacher, data, steps=150, student_steps=n, bank_size=512, batch_size=64, lr=2e-3,
                      teacher_path="runs/teacher")
    cfg = student.config
    assert cfg.inference_steps == n and len(cfg.timesteps) == n + 1 and cfg.teacher == "runs/teacher"
    assert cfg.sampler == ("flow" if teacher.config.objective == "flow" else "ddim")
    log = student.distill_log
    assert sum(log.losses[-10:]) < 0.7 * sum(log.losses[:10])
    # held-out: the student's n steps land closer to the teacher's chunk than the teacher's own n steps
    g = torch.Generator().manual_seed(123)
    obs = torch.randn(128, 2, 3, generator=g)  # (B, To, Do)
    x = torch.randn(128, 8, 2, generator=g)  # (B, H, Da)
    det = deterministic_schedule(teacher.train_schedule)
    _, x_teacher = teacher_trajectories(teacher, obs, x, teacher.timesteps, student_timesteps(det, n))
    sampler = SequentialSampler(student.schedule, student.timesteps)
    res = sampler.sample(student.denoiser, student.encode_obs(obs), x_init=x, budget=Budget())
    short = sampler.sample(teacher.denoiser, teacher.encode_obs(obs), x_init=x)
    assert res.nfe == res.depth == n and res.converged  # student nfe equals its step count
    # (the student starts as the teacher, so ``short`` is its own starting point; probes: ×0.73 ddpm, ×0.5 flow)
    assert (res.x0 - x_teacher).pow(2).mean() < 0.85 * (short.x0 - x_teacher).pow(2).mean()
    # it is a policy like any other: checkpoint round trip, predict_chunk, planner menu item
    path = save_checkpoint(student, tmp_path / "student")
    loaded = load_policy(path)
    assert loaded.config.timesteps == cfg.timesteps and loaded.timesteps.numel() == n + 1
    assert loaded.predict_chunk(obs[0].numpy()).shape == (8, 2)
    model = ChunkModel.from_policy(teacher)
    item = MenuItem("student", SequentialSampler(loaded.schedule, loaded.timesteps), denoiser=loaded.denoiser)
    planner = RealtimePlanner(model, [item], budget_ms=1000, fixed="student", cost_model=None,
                              cost_cache_dir=str(tmp_path))
    planner.act(obs[0, -1].numpy())
    assert planner.records[-1].nfe == n


def test_distill_rejects_bad_inputs() -> None:
    teacher = _teacher("ddpm", iters=0)
    with pytest.raises(ValueError, match="steps"):
        distill(teacher, [torch.zeros(4, 2, 3)], steps=0)
    with pytest.raises(ValueError, match="obs"):
        distill(teacher, [{"action": torch.zeros(4, 8, 2)}], steps=1, bank_size=4)


def test_distill_labels_the_bank_at_its_temperature(monkeypatch) -> None:
    """The teacher labels initial noise drawn at the student's sampling temperature, N(0, T²·I)."""
    import parapolicy.planners.student as student_mod

    seen: list[torch.Tensor] = []
    real = student_mod.teacher_trajectories

    def spy(teacher, obs, x_T, *args, **kwargs):
        seen.append(x_T.clone())
        return real(teacher, obs, x_T, *args, **kwargs)

    monkeypatch.setattr(student_mod, "teacher_trajectories", spy)
    teacher = _teacher("flow", iters=0)
    data = [torch.randn(256, 2, 3, generator=torch.Generator().manual_seed(0))]
    stds = {}
    for temperature in (1.0, 0.5):
        seen.clear()
        distill(teacher, data, steps=1, student_steps=1, bank_size=256, batch_size=64, temperature=temperature)
        stds[temperature] = torch.cat(seen).std().item()  # 256 × 8 × 2 draws
    assert abs(stds[1.0] - 1.0) < 0.05 and abs(stds[0.5] - 0.5) < 0.025
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="temperature"):
            distill(teacher, data, steps=1, temperature=bad)


def test_landing_space_loss_weights_each_step_by_its_gain() -> None:
    teacher = _teacher("flow")
    assert torch.equal(StudentFit(teacher, 2).step_weight, torch.ones(2))
    w = StudentFit(teacher, 2, loss_space="landing").step_weight  # levels 1 → 0.5 → 0: gains 0.5 and 1
    assert torch.allclose(w, torch.tensor([0.25, 1.0]))
    w = StudentFit(teacher, 2, loss_space="landing", inner_levels=[0.2]).step_weight  # gains 0.8 and 1
    assert torch.allclose(w, torch.tensor([0.64, 1.0]))
    with pytest.raises(ValueError, match="loss_space"):
        StudentFit(teacher, 2, loss_space="eps")


def test_chunk_loss_values_and_bad_name() -> None:
    diff = torch.tensor([[0.0, 0.0], [3.0, 4.0], [1e-4, -1e-4]])  # (3, 2): chunk RMS 0, 3.54, 1e-4
    assert torch.allclose(chunk_loss(diff, "mse"), diff.pow(2).mean(-1))
    ph = chunk_loss(diff, "pseudo_huber", c=0.01)  # (3,)
    e = diff.pow(2).mean(-1).sqrt()
    assert ph[0] == 0
    assert abs(ph[1] - (e[1] - 0.01)) < 1e-4  # linear far above the knee
    assert abs(ph[2] - e[2] ** 2 / 0.02) < 1e-8  # quadratic below it
    with pytest.raises(ValueError, match="loss must be one of"):
        chunk_loss(diff, "l7")
    with pytest.raises(ValueError, match="loss must be one of"):
        StudentFit(_teacher("flow", iters=1), 1, loss="l7")
    with pytest.raises(ValueError, match="huber_c"):
        StudentFit(_teacher("flow", iters=1), 1, loss="pseudo_huber", huber_c=0.0)


def test_pseudo_huber_fit_picks_the_majority_mode_where_mse_averages() -> None:
    """One chunk fitted to labels from two modes (70% at +0.5, 30% at -0.5): the MSE optimum is the
    mean (+0.2), which neither mode contains; the pseudo-Huber optimum sits at the majority mode."""
    labels = torch.cat([torch.full((7, 16), 0.5), torch.full((3, 16), -0.5)])  # (10, H·Da)
    fits = {}
    for loss in ("mse", "pseudo_huber"):
        x = torch.zeros(16, requires_grad=True)
        opt = torch.optim.Adam([x], lr=1e-2)
        for _ in range(600):
            val = chunk_loss(x[None] - labels, loss, c=0.003).mean()
            opt.zero_grad()
            val.backward()
            opt.step()
        fits[loss] = x.detach().mean().item()
    assert abs(fits["mse"] - 0.2) < 0.01
    assert abs(fits["pseudo_huber"] - 0.5) < 0.02


def test_executed_weight_weights_the_executed_positions() -> None:
    """With To = 2 and Ta = 3 the positions 1-3 of the chunk count w times the others; a student whose
    error sits only there pays more than one with the same error elsewhere."""
    teacher = _teacher("flow", iters=1)
    To = teacher.config.obs_horizon
    fit = StudentFit(teacher, 1, executed_weight=4.0, action_horizon=3)
    w = fit._pos_w.reshape(8, 2)  # (H, Da)
    assert torch.allclose(w[To - 1:To + 2], 4 * w[0].expand(3, 2))
    assert torch.allclose(w[To + 2:], w[0].expand(8 - To - 2, 2))
    assert abs(w.mean().item() - 1) < 1e-6
    err_exec, err_tail = torch.zeros(8, 2), torch.zeros(8, 2)
    err_exec[To - 1:To + 2] = 0.1
    err_tail[-3:] = 0.1
    pay = lambda e: chunk_loss((e.reshape(-1) * fit._pos_w.sqrt())[None]).item()  # noqa: E731
    assert pay(err_exec) > 3 * pay(err_tail)
    with pytest.raises(ValueError, match="executed_weight"):
        StudentFit(teacher, 1, executed_weight=0)
    with pytest.raises(ValueError, match="does not fit the chunk"):
        StudentFit(teacher, 1, action_horizon=8)


def test_anchor_pulls_the_student_back_to_its_teacher() -> None:
    """anchor = 1/lr resets every live weight to the teacher's after each step, whatever the student
    started from; anchor = 0 lets training move them."""
    teacher = _teacher("flow", iters=20)
    obs = torch.randn(64, 2, 3, generator=torch.Generator().manual_seed(3))
    moved = StudentFit(teacher, 1, lr=1e-2, seed=0)
    moved.label(obs)
    moved.train(3)
    start = [p.detach().clone() for p in teacher.inference_net.parameters()]
    assert any(not torch.equal(p, q) for p, q in zip(moved.student.model.parameters(), start))
    held = StudentFit(teacher, 1, lr=1e-2, anchor=100.0, seed=0, init=moved.result())
    held.label(obs)
    held.train(3)
    for p, q in zip(held.student.model.parameters(), start):
        torch.testing.assert_close(p, q)
    with pytest.raises(ValueError, match="anchor"):
        StudentFit(teacher, 1, anchor=-1.0)


def test_reflow_rows_lie_on_straight_lines_from_endpoint_to_noise() -> None:
    """objective=reflow trains on x_t = (1 - t)·x0* + t·z with target x0*: at the student's own levels
    when reflow_uniform = 0 (then a 2-step student's second row sits where its first Euler step would
    land from z with a perfect x0), at spread-out t when it is 1; DDPM teachers are refused."""
    teacher = _teacher("flow", iters=20)
    obs = torch.randn(32, 2, 3, generator=torch.Generator().manual_seed(4))
    fit = StudentFit(teacher, 2, objective="reflow", reflow_uniform=0.0, temperature=0.8)
    fit.label(obs)
    idx = torch.arange(32)
    x_t, t, target = fit._reflow_rows(idx)  # (64, 8, 2), (64,), (64, 8, 2)
    z, x0 = fit.states[0], fit.states[-1]  # (32, 8, 2) each
    torch.testing.assert_close(target, x0.repeat(2, 1, 1))
    torch.testing.assert_close(t, torch.tensor([1.0] * 32 + [0.5] * 32))
    torch.testing.assert_close(x_t[:32], z)
    euler_landing = z + (0.5 - 1.0) * (z - x0)  # one Euler step 1 -> 0.5 whose velocity implies x0*
    torch.testing.assert_close(x_t[32:], euler_landing)
    fit.reflow_uniform = 1.0
    x_t, t, target = fit._reflow_rows(idx)
    assert t.min() >= 0 and t.max() <= 1 and t.std() > 0.2
    torch.testing.assert_close(x_t, (1 - t)[:, None, None] * target + t[:, None, None] * z.repeat(2, 1, 1))
    losses = fit.train(30)
    assert all(torch.isfinite(torch.tensor(losses)))
    with pytest.raises(ValueError, match="needs a flow teacher"):
        StudentFit(_teacher("ddpm", iters=0), 1, objective="reflow")
    with pytest.raises(ValueError, match="objective must be one of"):
        StudentFit(teacher, 1, objective="consistency")
    with pytest.raises(ValueError, match="reflow_uniform"):
        StudentFit(teacher, 1, objective="reflow", reflow_uniform=1.5)


def test_teacher_time_power_labels_on_the_power_grid() -> None:
    """teacher_time_power ρ: the teacher's K Euler steps sit at (1 - k/K)^ρ (plus the student's levels),
    the bank records ρ, and a bank labelled on another grid is refused."""
    teacher = _teacher("flow", iters=20)
    fit = StudentFit(teacher, 2, teacher_steps=4, teacher_time_power=2.0, temperature=0.8, seed=1)
    torch.testing.assert_close(fit.teacher_ts, torch.tensor([1.0, 0.5625, 0.25, 0.0625, 0.0]))
    obs = torch.randn(3, 2, 3, generator=torch.Generator().manual_seed(2))
    fit.label(obs)
    x = fit.states[0]  # (3, H, Da) the labels' initial noise
    cond = teacher.encode_obs(obs)
    grid = [1.0, 0.5625, 0.5, 0.25, 0.0625, 0.0]  # the power grid with the student's middle level 0.5
    with torch.no_grad():
        for t, tp in zip(grid[:-1], grid[1:]):
            x = x + (tp - t) * teacher.denoiser(x, torch.full((3,), t), cond)
    torch.testing.assert_close(fit.states[-1], x, rtol=1e-5, atol=1e-5)
    tensors, meta = fit.bank_tensors()
    assert meta["teacher_time_power"] == "2.0"
    with pytest.raises(ValueError, match="time power 2.0"):
        StudentFit(teacher, 2, teacher_steps=4, temperature=0.8).load_bank(tensors, meta)
    assert StudentFit(teacher, 2, teacher_steps=4, teacher_time_power=2, temperature=0.8).load_bank(tensors, meta) == 3
    uniform = StudentFit(teacher, 2, teacher_steps=4, temperature=0.8)
    old_meta = {k: v for k, v in uniform.bank_tensors()[1].items() if k != "teacher_time_power"}
    assert uniform.load_bank(tensors, old_meta) == 3  # a bank from before the option: the uniform grid
    with pytest.raises(ValueError, match="needs a flow teacher"):
        StudentFit(_teacher("ddpm", iters=0), 1, teacher_steps=4, teacher_time_power=2.0)
    with pytest.raises(ValueError, match="needs teacher_steps"):
        StudentFit(teacher, 1, teacher_time_power=2.0)


def test_level_expert_student_starts_as_its_teacher_and_trains_each_step_apart() -> None:
    """level_experts: both step networks start from the teacher's weights (so before training the student
    samples exactly what the single-network student samples), training moves each to its own weights, an
    anchor of 1/lr holds every expert at the teacher's, and an expert student does not seed a single one."""
    teacher = _teacher("flow", iters=20)
    obs = torch.randn(64, 2, 3, generator=torch.Generator().manual_seed(5))
    plain = StudentFit(teacher, 2, seed=0).result()
    fit = StudentFit(teacher, 2, lr=1e-2, seed=0, level_experts=True)
    x = torch.randn(8, 8, 2, generator=torch.Generator().manual_seed(6))
    sampler = SequentialSampler(plain.schedule, plain.timesteps)
    cond = plain.encode_obs(obs[:8])
    torch.testing.assert_close(sampler.sample(fit.student.denoiser, cond, x_init=x, budget=Budget()).x0,
                               sampler.sample(plain.denoiser, cond, x_init=x, budget=Budget()).x0)
    fit.label(obs)
    fit.train(5)
    e0, e1 = (list(e.parameters()) for e in fit.student.model.experts)
    start = list(teacher.inference_net.parameters())
    assert any(not torch.equal(p, q) for p, q in zip(e0, start))
    assert any(not torch.equal(p, q) for p, q in zip(e1, start))
    assert any(not torch.equal(p, q) for p, q in zip(e0, e1))
    held = StudentFit(teacher, 2, lr=1e-2, anchor=100.0, seed=0, init=fit.result(), level_experts=True)
    held.label(obs)
    held.train(2)
    for expert in held.student.model.experts:
        for p, q in zip(expert.parameters(), start):
            torch.testing.assert_close(p, q)
    with pytest.raises(ValueError, match="single network"):
        StudentFit(teacher, 2, init=fit.result())


def test_fill_with_obs_noise_labels_histories_moved_beside_the_data() -> None:
    """obs_noise σ: the bank holds the drawn histories moved by N(0, σ²) in normalized units (std ≈ σ
    there), labelled by the teacher at the moved histories; σ = 0 keeps them exact; σ < 0 is refused."""
    teacher = _teacher("flow", iters=5)
    obs = torch.randn(512, 2, 3, generator=torch.Generator().manual_seed(8))
    exact = StudentFit(teacher, 1, seed=0)
    exact.fill([obs], 256)
    torch.testing.assert_close(exact.obs, obs[:256])
    moved = StudentFit(teacher, 1, seed=0)
    moved.fill([obs], 256, obs_noise=0.05)
    norm = teacher.normalizer
    shift = norm.normalize("obs", moved.obs) - norm.normalize("obs", obs[:256])  # (256, To, Do)
    assert abs(float(shift.std()) - 0.05) < 0.005 and abs(float(shift.mean())) < 0.005
    z, ts, s_ts = moved.states[0, :4], moved.teacher_ts, moved.student_ts  # the labels' own initial noise
    at_moved, _ = teacher_trajectories(teacher, moved.obs[:4], z, ts, s_ts)
    at_data, _ = teacher_trajectories(teacher, obs[:4], z, ts, s_ts)
    torch.testing.assert_close(moved.states[-1, :4], at_moved[-1])  # labelled where the history was moved to
    assert not torch.allclose(at_moved[-1], at_data[-1])
    with pytest.raises(ValueError, match="obs_noise must be a number >= 0"):
        moved.fill([obs], 8, obs_noise=-0.1)


def test_student_with_its_own_network_starts_fresh_and_learns_the_teacher() -> None:
    """net={denoiser: mlp}: the student runs a residual MLP, not a copy of the teacher's U-Net; its fresh
    weights depend on the seed only; training brings its samples toward the teacher's; it refuses an
    anchor (no teacher weights of its shape), an unknown field and an initial student of another network."""
    teacher = _teacher("flow", iters=100)
    net = {"denoiser": "mlp", "mlp_width": 64, "mlp_blocks": 2}
    fit = StudentFit(teacher, 2, lr=3e-3, batch_size=64, seed=4, net=net)
    assert fit.student.config.denoiser == "mlp" and fit.student.config.mlp_width == 64
    same = StudentFit(teacher, 2, seed=4, net=net).student.inference_net.state_dict()
    other = StudentFit(teacher, 2, seed=5, net=net).student.inference_net.state_dict()
    for k, v in fit.student.inference_net.state_dict().items():
        torch.testing.assert_close(v, same[k])
    assert any(not torch.equal(v, other[k]) for k, v in fit.student.inference_net.state_dict().items())
    g = torch.Generator().manual_seed(9)
    fit.label(torch.randn(512, 2, 3, generator=g))
    obs, x = torch.randn(64, 2, 3, generator=g), torch.randn(64, 8, 2, generator=g)
    _, x_teacher = teacher_trajectories(teacher, obs, x, fit.teacher_ts, fit.student_ts)

    def error() -> float:
        st = fit.student
        res = SequentialSampler(st.schedule, st.timesteps).sample(st.denoiser, st.encode_obs(obs), x_init=x)
        return float((res.x0 - x_teacher).pow(2).mean())

    before = error()
    fit.train(300)
    assert error() < 0.3 * before
    with pytest.raises(ValueError, match="anchor"):
        StudentFit(teacher, 2, anchor=1.0, net=net)
    with pytest.raises(ValueError, match="unknown student network field"):
        StudentFit(teacher, 2, net={"width": 3})
    with pytest.raises(ValueError, match="shares no weights"):
        StudentFit(teacher, 2, init=fit.result())


def test_a_grown_student_starts_as_its_source_and_its_added_blocks_learn() -> None:
    """net={mid_blocks: 4} over the teacher's 2: the student takes every teacher tensor, its two added
    bottleneck blocks start as the identity (last GroupNorm zeroed), so its network computes the
    teacher's exactly; training then moves those blocks off the identity."""
    from parapolicy.planners.student import identity_new_blocks

    teacher = _teacher("flow", iters=20)
    fit = StudentFit(teacher, 1, seed=0, net={"mid_blocks": 4}, lr=1e-3)
    src = teacher.inference_net.state_dict()
    assert fit.identity_blocks == ["mid.2", "mid.3"] and fit.shared_tensors == len(src)
    x, t, cond = torch.randn(16, 8, 2), torch.rand(16), teacher.encode_obs(torch.randn(16, 2, 3))  # (B, Dc)
    with torch.no_grad():
        torch.testing.assert_close(fit.student.inference_net(x, t, cond), teacher.inference_net(x, t, cond))
    fit.label(torch.randn(64, 2, 3, generator=torch.Generator().manual_seed(2)))
    fit.train(20)
    gain = fit.student.model.mid[3].conv2[1].weight
    assert gain.abs().max() > 0  # the added block left the identity
    with torch.no_grad():
        assert (fit.student.model(x, t, cond) - teacher.inference_net(x, t, cond)).abs().max() > 1e-4
    # a block that took its tensors from the source is left as it is
    full = fit.student.model.state_dict()
    assert identity_new_blocks(fit.student.model, full) == []
    torch.testing.assert_close(fit.student.model.mid[3].conv2[1].weight, gain)
    # one network per step: each expert grows from the teacher's single network
    experts = StudentFit(teacher, 2, seed=0, level_experts=True, net={"mid_blocks": 3})
    assert experts.identity_blocks == ["experts.0.mid.2", "experts.1.mid.2"]
    with torch.no_grad():
        for e in experts.student.inference_net.experts:
            torch.testing.assert_close(e(x, t, cond), teacher.inference_net(x, t, cond))


def test_student_without_mid_blocks_keeps_the_rest_of_its_source() -> None:
    """net={mid_blocks: 0}: a U-Net student without the bottleneck blocks takes every other tensor from
    the teacher, exactly; a full U-Net started from it takes all of its tensors (its bottleneck starts
    fresh), and another student without the blocks continues it tensor for tensor."""
    teacher = _teacher("flow", iters=20)
    fit = StudentFit(teacher, 2, seed=0, net={"mid_blocks": 0})
    own, src = fit.student.inference_net.state_dict(), teacher.inference_net.state_dict()
    assert len(fit.student.inference_net.mid) == 0 and not any(k.startswith("mid.") for k in own)
    assert set(own) == {k for k in src if not k.startswith("mid.")} and fit.shared_tensors == len(own)
    for k, v in own.items():
        torch.testing.assert_close(v, src[k])
    fit.label(torch.randn(64, 2, 3, generator=torch.Generator().manual_seed(2)))
    fit.train(3)
    again = StudentFit(teacher, 2, seed=1, init=fit.result())  # the teacher's network, from the smaller one
    assert again.student.config.mid_blocks == 2 and again.shared_tensors == len(own)
    kept = StudentFit(teacher, 2, seed=1, init=fit.result(), net={"mid_blocks": 0})
    for k, v in kept.student.inference_net.state_dict().items():
        torch.testing.assert_close(v, fit.student.inference_net.state_dict()[k])
