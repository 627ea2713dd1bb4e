"""parapolicy-finish and the finisher: a 1-step draft plus a cheap distilled last step, on a tiny Fork flow teacher."""
from __future__ import annotations

import json
import math

import pytest
import torch

from parapolicy.policies import load_policy
from parapolicy.policies.experts import LevelExperts

from cli_utils import TINY_TRAIN, assert_one_line_error, run_cli, run_clis

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def flow_teacher(tmp_path_factory):
    """(root, flow teacher checkpoint dir, its 1-step student dir, saved with its bank)."""
    root = tmp_path_factory.mktemp("finish")
    data = root / "fork.hdf5"
    proc = run_cli("parapolicy-collect", "env=Fork-v0", "episodes=3", f"out={data}", "progress=false", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = run_cli("parapolicy-train", "env=Fork-v0", "policy.objective=flow", f"dataset={data}",
                   f"out={root / 'run'}", *TINY_TRAIN, "eval_episodes=0", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpt = root / "run" / "checkpoint"
    student = root / "student1"
    proc = run_cli("parapolicy-distill", f"checkpoint={ckpt}", "steps=5", "student_steps=1", "bank_size=48",
                   "batch_size=16", "heldout_samples=8", "temperature=0.8", "save_bank=true", f"out={student}",
                   "progress=false", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root, ckpt, student


def test_finish_writes_a_two_step_student_whose_first_step_is_the_draft(flow_teacher, tmp_path):
    """The result loads as a 2-step level-expert student with levels [1, t_m, 0]: expert 0 is the draft's
    network with its weights unchanged, expert 1 the smaller finisher; training moved the finisher toward
    the teacher's one-step finish; the draft's bank and temperature were used."""
    from parapolicy.planners.base import Budget
    from parapolicy.planners.sequential import SequentialSampler

    root, ckpt, student = flow_teacher
    out = tmp_path / "student2_fin"
    proc = run_cli("parapolicy-finish", f"checkpoint={ckpt}", f"draft={student}", "level=0.1",
                   "net={mid_blocks: 0}", "steps=80", "batch_size=32", "lr=1e-3", "heldout_samples=16",
                   f"out={out}", "progress=false", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"{student}'s saved bank" in proc.stdout and "temperature 0.8" in proc.stdout, proc.stdout
    fin = load_policy(out)
    draft = load_policy(student)
    assert fin.config.timesteps == [1.0, 0.1, 0.0] and fin.config.num_inference_steps == 2
    assert fin.config.level_experts and fin.config.expert_nets[1]["mid_blocks"] == 0
    assert isinstance(fin.inference_net, LevelExperts)
    first, second = fin.inference_net.experts
    for k, v in draft.inference_net.state_dict().items():
        torch.testing.assert_close(first.state_dict()[k], v)
    assert sum(p.numel() for p in second.parameters()) < sum(p.numel() for p in first.parameters())
    summary = json.loads((out / "config.json").read_text())["extra"]["finish"]
    assert summary["temperature"] == 0.8 and summary["histories"] == 48 and summary["level"] == 0.1
    assert summary["teacher_level"] == 0.1  # null: the level itself
    after = summary["heldout_finish_after"]
    assert 0 < after["finisher_rmse"] < 1 and 0 < after["draft_rmse"] < 1 and after["samples"] == 16
    assert summary["heldout_chain"]["nfe"] == 2.0 and summary["shared_tensors"] > 0
    # sampling: the first step lands on the draft's x0 re-noised to t_m with the same noise
    obs = torch.zeros(2, fin.config.obs_horizon, fin.config.obs_dim)  # (B, To, Do)
    z = torch.randn(2, fin.config.pred_horizon, fin.config.action_dim)  # (B, H, Da)
    with torch.no_grad():
        res = SequentialSampler(fin.schedule, fin.timesteps).sample(fin.denoiser, fin.encode_obs(obs), x_init=z,
                                                                     budget=Budget(max_nfe=1))
        x_hat = SequentialSampler(draft.schedule, draft.timesteps).sample(
            draft.denoiser, draft.encode_obs(obs), x_init=z, budget=Budget()).x0
    torch.testing.assert_close(res.x0, x_hat)  # the anytime estimate after one call is the draft's x0


def test_a_finisher_with_the_teachers_network_starts_as_the_teachers_finish(flow_teacher):
    """With no network override the finisher starts as a copy of the teacher, so its x0 from the draft
    re-noised to t_m equals the teacher's one-step finish (the training target) exactly; a smaller
    finisher does not; training moves only the finisher's weights."""
    from parapolicy.planners.finisher import FinisherFit

    _, ckpt, student = flow_teacher
    teacher, draft = load_policy(ckpt), load_policy(student)
    obs = torch.randn(6, teacher.config.obs_horizon, teacher.config.obs_dim)  # (n, To, Do) raw
    same = FinisherFit(teacher, draft, 0.05, batch_size=4, temperature=0.8)
    assert same.error(obs)["finisher_rmse"] < 1e-6 and same.error(obs)["draft_rmse"] > 1e-4
    small = FinisherFit(teacher, draft, 0.05, net={"mid_blocks": 0}, batch_size=4, temperature=0.8)
    assert small.error(obs)["finisher_rmse"] > 1e-4
    first = {k: v.clone() for k, v in small.student.model.experts[0].state_dict().items()}
    second = {k: v.clone() for k, v in small.student.model.experts[1].state_dict().items()}
    losses = small.train(obs, 3)
    assert len(losses) == 3 and all(math.isfinite(v) for v in losses)
    for k, v in small.student.model.experts[0].state_dict().items():
        torch.testing.assert_close(v, first[k])
    assert any(not torch.equal(v, second[k]) for k, v in small.student.model.experts[1].state_dict().items())
    with pytest.raises(ValueError, match="1-step student"):
        FinisherFit(teacher, teacher, 0.05)
    with pytest.raises(ValueError, match="level must be"):
        FinisherFit(teacher, draft, 1.0)


def test_a_skip_finisher_starts_at_the_draft_and_learns_the_teachers_step_from_its_own_level(flow_teacher):
    """A finisher with ``x0_skip`` at a level near 0 starts as the identity on the draft re-noised to
    that level (so its error is the draft's, up to the level's noise); its target is the teacher's one
    step from the draft re-noised to ``teacher_level`` with the same noise; the learning rate warms up
    linearly and decays to 0 by the last step."""
    from parapolicy.planners.finisher import FinisherFit
    from parapolicy.policies.skip import X0Skip

    _, ckpt, student = flow_teacher
    teacher, draft = load_policy(ckpt), load_policy(student)
    obs = torch.randn(6, teacher.config.obs_horizon, teacher.config.obs_dim)  # (n, To, Do) raw
    net = {"denoiser": "mlp", "mlp_width": 16, "mlp_blocks": 1, "x0_skip": True}
    fit = FinisherFit(teacher, draft, 0.001, teacher_level=0.1, net=net, batch_size=4, temperature=0.8, lr=1e-3,
                      warmup=10)
    assert isinstance(fit.student.model.experts[1], X0Skip) and fit.teacher_level == 0.1
    cond, x_hat, x_m, target = fit.pair(obs, torch.Generator().manual_seed(5))
    z = torch.randn(x_hat.shape, generator=torch.Generator().manual_seed(5)) * 0.8  # the same noise
    x_tl = 0.1 * z + 0.9 * x_hat  # (n, H, Da)
    with torch.no_grad():
        expect = x_tl - 0.1 * teacher.denoiser(x_tl, torch.full((6,), 0.1), cond)
        torch.testing.assert_close(target, expect)
        torch.testing.assert_close(fit._finish(fit.student.inference_net, x_m, cond), x_m)  # identity at start
    err = fit.error(obs)
    assert abs(err["finisher_rmse"] - err["draft_rmse"]) < 0.01 * max(1.0, float(z.abs().max()))
    same_level = FinisherFit(teacher, draft, 0.1, batch_size=4, temperature=0.8)
    assert same_level.teacher_level == 0.1  # teacher_level defaults to level
    lrs = [fit.lr_at(i, 100) for i in range(100)]
    assert lrs[0] == pytest.approx(1e-4) and max(lrs) == lrs[9] and lrs[-1] < 1e-5
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))
    losses = fit.train(obs, 4)
    assert len(losses) == 4 and all(math.isfinite(v) for v in losses)
    assert fit.opt.param_groups[0]["lr"] == pytest.approx(fit.lr_at(3, 4))
    with pytest.raises(ValueError, match="teacher_level must be"):
        FinisherFit(teacher, draft, 0.05, teacher_level=0.0)


def test_decoder_aligned_gives_a_shallower_unet_the_teachers_outer_levels(flow_teacher):
    """``decoder_aligned`` renames the teacher's decoder levels from the output end and drops its
    deepest ones; a one-level finisher of the two-level tiny teacher then starts with the teacher's
    first encoder level, its last decoder level (none here) and its final layers."""
    from parapolicy.planners.finisher import FinisherFit, decoder_aligned

    state = {"down.0.a": torch.zeros(1), "up.0.b": torch.ones(1), "up.1.b": 2 * torch.ones(1),
             "up.2.c": 3 * torch.ones(1), "final.1.weight": torch.zeros(2)}
    out = decoder_aligned(state, 3, 2)  # d = 1: up.1, up.2 become up.0, up.1
    assert sorted(out) == ["down.0.a", "final.1.weight", "up.0.b", "up.1.c"]
    assert float(out["up.0.b"]) == 2 and float(out["up.1.c"]) == 3
    assert decoder_aligned(state, 3, 3) == state
    _, ckpt, student = flow_teacher
    teacher, draft = load_policy(ckpt), load_policy(student)
    assert tuple(teacher.config.down_dims) == (16, 32)
    fit = FinisherFit(teacher, draft, 0.05, net={"down_dims": [16], "mid_blocks": 0}, batch_size=4)
    finisher = fit.student.model.experts[1].state_dict()
    t_state = teacher.inference_net.state_dict()
    for k in ("down.0.0.conv1.0.weight", "final.1.weight", "step_encoder.1.weight"):
        torch.testing.assert_close(finisher[k], t_state[k])
    assert not any(k.startswith("up.") for k in finisher)
    assert fit.shared_tensors == sum(1 for k in finisher if k in t_state and finisher[k].shape == t_state[k].shape)


def test_finish_init_continues_an_earlier_finisher_and_refuses_another(flow_teacher, tmp_path):
    """init=<finisher student>: the new run starts where that one ended (its held-out error before
    training is the earlier run's after, and a near-zero learning rate keeps its weights); a 1-step
    student, or a finisher of another network, is refused in one line."""
    root, ckpt, student = flow_teacher
    common = [f"checkpoint={ckpt}", f"draft={student}", "level=0.1", "net={mid_blocks: 0}", "batch_size=16",
              "heldout_samples=16", "progress=false"]
    first = tmp_path / "first"
    proc = run_cli("parapolicy-finish", *common, "steps=30", "lr=1e-3", f"out={first}", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    second = tmp_path / "second"
    proc = run_cli("parapolicy-finish", *common, "steps=1", "lr=1e-12", "warmup=1", f"init={first}",
                   f"out={second}", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    s1 = json.loads((first / "config.json").read_text())["extra"]["finish"]
    s2 = json.loads((second / "config.json").read_text())["extra"]["finish"]
    assert s2["heldout_finish_before"]["finisher_rmse"] == pytest.approx(s1["heldout_finish_after"]["finisher_rmse"])
    assert s2["config"]["init"] == str(first)
    a, b = load_policy(first).inference_net.experts[1], load_policy(second).inference_net.experts[1]
    for k, v in a.state_dict().items():
        torch.testing.assert_close(b.state_dict()[k], v, atol=1e-6, rtol=0)
    bad = tmp_path / "bad"
    assert_one_line_error(run_cli("parapolicy-finish", *common, f"init={student}", f"out={bad}", cwd=root),
                          "init is not a finisher student")
    other = [a for a in common if not a.startswith("net=")]
    assert_one_line_error(run_cli("parapolicy-finish", *other, "net={mid_blocks: 1}", f"init={first}", f"out={bad}",
                                  cwd=root), "init's finisher network differs from net in mid_blocks")
    assert not bad.exists()


def test_finish_bad_inputs_are_one_line(flow_teacher, tmp_path):
    root, ckpt, student = flow_teacher
    out = tmp_path / "bad"
    cases = [(["level=1.5"], "level must be a flow time in (0, 1)"),
             (["steps=0"], "steps must be an integer >= 1"),
             (["teacher_level=1"], "teacher_level must be a flow time in (0, 1)"),
             (["warmup=0"], "warmup must be an integer >= 1"),
             (["net={width: 3}"], "unknown net field"),
             (["temperature=0"], "temperature must be a number > 0"),
             ([f"draft={tmp_path / 'none'}"], "draft checkpoint directory not found")]
    procs = run_clis([("parapolicy-finish", [f"checkpoint={ckpt}", f"draft={student}", *args, f"out={out}"])
                      for args, _ in cases], cwd=tmp_path)
    for proc, (_, message) in zip(procs, cases):
        assert_one_line_error(proc, message)
    # the teacher as its own draft, and a draft of another teacher
    assert_one_line_error(run_cli("parapolicy-finish", f"checkpoint={ckpt}", f"draft={ckpt}", f"out={out}",
                                  cwd=tmp_path), "is not a student of")
    assert not out.exists()


def test_fold_targets_are_the_teachers_finish_and_training_moves_only_the_student(flow_teacher):
    """FoldFit starts as an exact copy of the draft; its target is the teacher's one Euler step from the
    draft's x0 re-noised to t_m with the same noise (``"draft"``) or from the student's own EMA x0
    (``"self"``, which follows the student once it moves); training on a few histories brings the student
    closer to that target and leaves the draft and the teacher untouched."""
    from parapolicy.planners.fold import FoldFit

    _, ckpt, student = flow_teacher
    teacher, draft = load_policy(ckpt), load_policy(student)
    obs = torch.randn(8, teacher.config.obs_horizon, teacher.config.obs_dim)  # (n, To, Do) raw
    fit = FoldFit(teacher, draft, 0.1, batch_size=64, lr=1e-4, warmup=10, temperature=0.8)
    err = fit.error(obs)
    assert err["draft_finish_rmse"] == pytest.approx(err["draft_rmse"]) and err["draft_rmse"] > 1e-4
    assert err["self_finish_rmse"] == pytest.approx(err["draft_rmse"])  # the student is the draft
    cond, z, target = fit.labels(obs, torch.Generator().manual_seed(3))
    expect_z = torch.randn(z.shape, generator=torch.Generator().manual_seed(3)) * 0.8
    torch.testing.assert_close(z, expect_z)
    with torch.no_grad():
        x_hat = z - draft.denoiser(z, torch.ones(8), cond)  # (n, H, Da) the draft's one flow step
        x_m = 0.1 * z + 0.9 * x_hat
        torch.testing.assert_close(target, x_m - 0.1 * teacher.denoiser(x_m, torch.full((8,), 0.1), cond))
    frozen = {k: v.clone() for k, v in draft.inference_net.state_dict().items()}
    teacher_w = {k: v.clone() for k, v in teacher.inference_net.state_dict().items()}
    losses = fit.train(obs, 150)
    assert len(losses) == 150 and all(math.isfinite(v) for v in losses)
    after = fit.error(obs)
    assert after["draft_finish_rmse"] < 0.7 * err["draft_finish_rmse"], (err, after)
    for k, v in draft.inference_net.state_dict().items():
        torch.testing.assert_close(v, frozen[k])
    for k, v in teacher.inference_net.state_dict().items():
        torch.testing.assert_close(v, teacher_w[k])
    moved = FoldFit(teacher, draft, 0.1, target="self", batch_size=8, temperature=0.8)
    moved.student.ema.load_state_dict(fit.student.ema.state_dict())  # its own x0 is no longer the draft's
    _, _, own = moved.labels(obs, torch.Generator().manual_seed(3))
    _, _, of_draft = FoldFit(teacher, draft, 0.1, batch_size=8, temperature=0.8).labels(
        obs, torch.Generator().manual_seed(3))
    torch.testing.assert_close(of_draft, target)
    assert (own - of_draft).abs().max() > 1e-5
    with pytest.raises(ValueError, match="fold target must be"):
        FoldFit(teacher, draft, 0.1, target="teacher")
    # finish_steps=2: the teacher's two Euler steps 0.1 -> 0.05 -> 0 from the same x_m
    two = FoldFit(teacher, draft, 0.1, batch_size=8, temperature=0.8, finish_steps=2)
    _, _, target2 = two.labels(obs, torch.Generator().manual_seed(3))
    with torch.no_grad():
        x_h = x_m - 0.05 * teacher.denoiser(x_m, torch.full((8,), 0.1), cond)
        torch.testing.assert_close(target2, x_h - 0.05 * teacher.denoiser(x_h, torch.full((8,), 0.05), cond))
    assert (target2 - target).abs().max() > 1e-5
    with pytest.raises(ValueError, match="finish_steps must be an integer >= 1"):
        FoldFit(teacher, draft, 0.1, finish_steps=0)
    To, H = teacher.config.obs_horizon, teacher.config.pred_horizon
    weighted = FoldFit(teacher, draft, 0.1, executed_weight=10.0, action_horizon=2, batch_size=8)
    w = weighted.pos_w.flatten()  # (H,) the executed positions To-1, To weigh 10 times the rest, mean 1
    assert w.mean().item() == pytest.approx(1.0) and w[To - 1].item() == pytest.approx(10 * w[0].item())
    assert int((w > w.min()).sum()) == 2 and weighted.executed == slice(To - 1, To + 1)
    ex = weighted.error(obs)
    assert ex["draft_finish_rmse_executed"] == pytest.approx(ex["draft_rmse_executed"])
    assert ex["draft_rmse_executed"] > 0
    with pytest.raises(ValueError, match="action_horizon must be an integer in"):
        FoldFit(teacher, draft, 0.1, action_horizon=H)
    with pytest.raises(ValueError, match="1-step student"):
        FoldFit(teacher, teacher, 0.1)


def test_a_grown_fold_starts_as_the_draft_and_trains_its_added_blocks(flow_teacher):
    """FoldFit(net={mid_blocks: m + 2}): the folded student takes all of the draft's tensors, its two
    added bottleneck blocks start as the identity, so its x0 is the draft's exactly; training moves it
    toward the teacher's finish, the added blocks with it."""
    from parapolicy.planners.fold import FoldFit

    _, ckpt, student = flow_teacher
    teacher, draft = load_policy(ckpt), load_policy(student)
    m = draft.config.mid_blocks
    obs = torch.randn(8, teacher.config.obs_horizon, teacher.config.obs_dim)  # (n, To, Do) raw
    fit = FoldFit(teacher, draft, 0.1, batch_size=64, lr=1e-4, warmup=10, temperature=0.8, net={"mid_blocks": m + 2})
    assert fit.grown and fit.identity_blocks == [f"mid.{m}", f"mid.{m + 1}"]
    assert fit.shared_tensors == len(draft.inference_net.state_dict())
    assert fit.student.config.mid_blocks == m + 2 and fit.student.config.timesteps == [1.0, 0.0]
    assert fit.student.num_parameters() > draft.num_parameters()
    err = fit.error(obs)
    assert err["draft_finish_rmse"] == pytest.approx(err["draft_rmse"], abs=1e-7) and err["draft_rmse"] > 1e-4
    fit.train(obs, 150)
    after = fit.error(obs)
    assert after["draft_finish_rmse"] < 0.7 * err["draft_finish_rmse"], (err, after)
    assert fit.student.model.mid[m + 1].conv2[1].weight.abs().max() > 0
    same = FoldFit(teacher, draft, 0.1, batch_size=8, net={"mid_blocks": m})  # the draft's own network
    assert not same.grown and same.identity_blocks == []
    with pytest.raises(ValueError, match="unknown fold net field"):
        FoldFit(teacher, draft, 0.1, net={"width": 3})


def test_finish_fold_writes_a_one_step_student_and_refuses_finisher_options(flow_teacher, tmp_path):
    """``fold=true`` saves a single-network 1-step student (levels [1, 0]) beside the draft by default,
    with the fold's report and the draft's distillation record; ``teacher_level`` with ``fold=true``, an
    unknown ``net`` field or ``fold_target`` and a finisher as ``init`` are one-line errors. A fold of the
    folded student with ``net={mid_blocks: m + 1}`` grows it and records the identity-started block."""
    import shutil

    root, ckpt, student = flow_teacher
    draft_copy = tmp_path / "draft1"
    shutil.copytree(student, draft_copy)
    common = [f"checkpoint={ckpt}", f"draft={draft_copy}", "fold=true", "level=0.1", "batch_size=64",
              "heldout_samples=16", "progress=false"]
    proc = run_cli("parapolicy-finish", *common, "steps=100", "lr=1e-4", "warmup=10", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "draft1_folded"
    assert "folded 1-step student" in proc.stdout and str(out) in proc.stdout, proc.stdout
    folded = load_policy(out)
    assert folded.config.timesteps == [1.0, 0.0] and not folded.config.level_experts
    extra = json.loads((out / "config.json").read_text())["extra"]
    fold = extra["fold"]
    assert fold["fold_target"] == "draft" and fold["temperature"] == 0.8 and fold["histories"] == 48
    assert fold["finish_steps"] == 1
    assert fold["heldout_finish_after"]["draft_finish_rmse"] < fold["heldout_finish_before"]["draft_finish_rmse"]
    assert fold["heldout_chain"]["nfe"] == 1.0 and extra["distill"]["temperature"] == 0.8
    kept, orig = load_policy(draft_copy).inference_net.state_dict(), load_policy(student).inference_net.state_dict()
    assert all(torch.equal(v, orig[k]) for k, v in kept.items())  # the draft on disk is untouched
    assert any(not torch.equal(v, folded.inference_net.state_dict()[k]) for k, v in kept.items())  # the student moved
    bad = tmp_path / "bad"
    cases = [(["net={width: 3}"], "unknown net field"),
             (["teacher_level=0.05"], "fold=true trains the draft's own network"),
             (["fold_target=teacher"], "fold_target must be one of draft, self"),
             (["fold=false", "executed_weight=3"], "executed_weight and action_horizon weigh a fold's loss"),
             (["executed_weight=0"], "executed_weight must be"),
             (["finish_steps=0"], "finish_steps must be an integer >= 1"),
             (["fold=false", "finish_steps=2"], "finish_steps sets a fold's target")]
    procs = run_clis([("parapolicy-finish", [*common, *args, f"out={bad}"]) for args, _ in cases], cwd=root)
    for p, (_, message) in zip(procs, cases):
        assert_one_line_error(p, message)
    # a fold of the folded student, and a finisher after that, train on the histories of the first draft
    again = tmp_path / "again"
    m = folded.config.mid_blocks
    proc = run_cli("parapolicy-finish", f"checkpoint={ckpt}", f"draft={out}", "fold=true", "level=0.1", "steps=2",
                   "batch_size=8", "heldout_samples=8", f"net={{mid_blocks: {m + 1}}}", f"out={again}",
                   "finish_steps=2", "progress=false", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"on 48 histories from {draft_copy.resolve()}'s saved bank" in proc.stdout, proc.stdout
    assert "added blocks started as the identity: 1" in proc.stdout, proc.stdout
    assert "the teacher's 2-step finish" in proc.stdout, proc.stdout
    grown = json.loads((again / "config.json").read_text())
    assert grown["policy"]["mid_blocks"] == m + 1 and grown["extra"]["fold"]["identity_blocks"] == [f"mid.{m}"]
    assert grown["extra"]["fold"]["net"] == {"mid_blocks": m + 1} and grown["extra"]["fold"]["finish_steps"] == 2
    fin = tmp_path / "fin"
    proc = run_cli("parapolicy-finish", f"checkpoint={ckpt}", f"draft={again}", "level=0.1", "steps=2",
                   "batch_size=8", "heldout_samples=8", f"out={fin}", "progress=false", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"on 48 histories from {draft_copy.resolve()}'s saved bank" in proc.stdout, proc.stdout
    assert_one_line_error(run_cli("parapolicy-finish", *common, "steps=1", f"init={fin}", f"out={bad}", cwd=root),
                          "single-network 1-step student")
    assert not bad.exists()


def test_fold_rollouts_add_the_starting_students_replan_histories(flow_teacher, tmp_path):
    """``rollouts=E`` rolls the draft out for E seeded episodes and trains on the bank plus the histories
    it replanned at, repeated to ``rollout_share`` of the pool; the first of them is the reset
    observation of the first rollout seed; bad rollout options are one-line errors."""
    import numpy as np

    from parapolicy.envs import make_env
    from parapolicy.scripts.finish import FinishConfig, _rollouts

    root, ckpt, student = flow_teacher
    out = tmp_path / "fold_roll"
    common = [f"checkpoint={ckpt}", f"draft={student}", "fold=true", "level=0.1", "batch_size=16",
              "heldout_samples=8", "progress=false"]
    proc = run_cli("parapolicy-finish", *common, "steps=3", "rollouts=2", "rollout_share=0.5", "rollout_num_envs=2",
                   f"out={out}", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    fold = json.loads((out / "config.json").read_text())["extra"]["fold"]
    roll = fold["rollouts"]
    assert roll["episodes"] == 2 and roll["seed"] == 7_000_000 and roll["temperature"] == 0.8
    assert roll["new_histories"] >= 2 and 0 <= roll["success_rate"] <= 1
    added = roll["repeats"] * roll["new_histories"]
    assert fold["histories"] == 48 + added and roll["share"] == pytest.approx(added / (48 + added))
    assert abs(roll["share"] - 0.5) <= roll["new_histories"] / (48 + added)  # the nearest whole repeat count
    assert "replan histories" in proc.stdout and "of the draft's 2 rollouts" in proc.stdout, proc.stdout
    # in process: the pool is the bank, then the rollouts' histories, the first one at the first seed's reset
    cfg = FinishConfig(checkpoint=str(ckpt), draft=str(student), fold=True, rollouts=1, rollout_num_envs=1,
                       rollout_seed=123)
    bank = torch.zeros(5, 2, 6)  # (M, To, Do)
    pool, rec = _rollouts(cfg, load_policy(student), 4, 0.8, bank)
    assert rec["repeats"] == 1 and pool.shape == (5 + rec["new_histories"], 2, 6)
    assert torch.equal(pool[:5], bank)
    env = make_env("Fork-v0")
    first, _ = env.reset(seed=123)
    env.close()
    np.testing.assert_allclose(pool[5, -1].numpy(), first, rtol=0, atol=1e-6)
    bad = tmp_path / "bad"
    cases = [(["rollout_share=0.5"], "rollout_share weighs the rollouts' histories; give rollouts >= 1"),
             (["rollouts=2", "rollout_share=1"], "rollout_share must be a number in (0, 1)"),
             (["rollouts=-1"], "rollouts must be an integer >= 0"),
             (["rollouts=2", "rollout_num_envs=0"], "rollout_num_envs must be an integer >= 1")]
    procs = run_clis([("parapolicy-finish", [*common, *args, f"out={bad}"]) for args, _ in cases], cwd=root)
    for p, (_, message) in zip(procs, cases):
        assert_one_line_error(p, message)
    assert not bad.exists()
