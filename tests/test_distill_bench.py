"""parapolicy-distill, parapolicy-bench and the planner factory, on a tiny Fork teacher trained in a subprocess."""
from __future__ import annotations

import ast
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from parapolicy.policies import load_policy
from parapolicy.policies.experts import LevelExperts

from cli_utils import TINY_TRAIN, assert_one_line_error, run_cli, run_clis

torch.set_num_threads(1)

TINY = [*TINY_TRAIN, "train.ckpt_every=4", "eval_episodes=0"]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    """(root, teacher checkpoint dir, 1-step student dir) — the student made by parapolicy-distill."""
    root = tmp_path_factory.mktemp("distill")
    data = root / "fork.hdf5"
    proc = run_cli("parapolicy-collect", "env=Fork-v0", "episodes=3", f"out={data}", "progress=false", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = run_cli("parapolicy-train", "env=Fork-v0", f"dataset={data}", f"out={root / 'run'}", *TINY, cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpt = root / "run" / "checkpoint"
    proc = run_cli("parapolicy-distill", f"checkpoint={ckpt}", "steps=10", "student_steps=1", "bank_size=64",
                   "batch_size=32", "heldout_samples=16", "progress=false", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "nfe 1 per chunk" in proc.stdout and "held-out x0 RMSE" in proc.stdout, proc.stdout
    assert "on training histories with fresh noise" in proc.stdout, proc.stdout
    return root, ckpt, root / "run" / "student1"


def test_distilled_student_checkpoint(teacher):
    from parapolicy.planners.base import Budget
    from parapolicy.planners.sequential import SequentialSampler
    from parapolicy.policies import load_policy

    root, ckpt, student_dir = teacher
    meta = json.loads((student_dir / "config.json").read_text())
    assert meta["teacher"] == str(ckpt.resolve()) and len(meta["timesteps"]) == 2
    assert meta["extra"]["distill"]["dataset"].endswith("fork.hdf5")  # the teacher's own training data
    assert meta["extra"]["distill"]["provenance"]["git_commit"]
    assert meta["extra"]["distill"]["temperature"] == 1.0  # the noise the teacher labelled
    seen, held = meta["extra"]["distill"]["train_histories_fresh_noise"], meta["extra"]["distill"]["heldout"]
    assert seen["samples"] == held["samples"] == 16 and 0 < seen["student_rmse"] < math.inf
    assert seen["student_rmse"] != held["student_rmse"]  # other histories, other noise
    student = load_policy(student_dir)
    obs = torch.zeros(3, 2, 6)  # (B, To, Do)
    res = SequentialSampler(student.schedule, student.timesteps).sample(
        student.denoiser, student.encode_obs(obs), x_init=torch.randn(3, 16, 2), budget=Budget())
    assert res.nfe == res.depth == 1 and res.converged


def test_distill_bad_inputs_are_one_line(teacher, tmp_path):
    root, ckpt, student_dir = teacher
    assert_one_line_error(run_cli("parapolicy-distill", "checkpoint=/no/such/teacher", cwd=tmp_path), "not found")
    assert_one_line_error(run_cli("parapolicy-distill", f"checkpoint={ckpt}", "student_steps=9", cwd=tmp_path),
                          "student_steps")
    assert_one_line_error(run_cli("parapolicy-distill", f"checkpoint={student_dir}", cwd=tmp_path),
                          "distilled student")
    assert_one_line_error(run_cli("parapolicy-distill", f"checkpoint={ckpt}", "temperature=0", cwd=tmp_path),
                          "temperature must be a number > 0")
    assert_one_line_error(run_cli("parapolicy-distill", f"checkpoint={ckpt}", "student_steps=2", "inner_levels=[0.5]",
                                  f"out={tmp_path / 'odd'}", cwd=tmp_path), "inner levels")
    assert not (tmp_path / "odd").exists()
    cases = [("loss_space=eps", "loss_space"), ("loss=l7", "loss must be one of mse, pseudo_huber"),
             ("huber_c=0", "huber_c must be a number > 0"),
             ("executed_weight=0", "executed_weight must be a number > 0"),
             ("anchor=-1", "anchor must be a number >= 0"),
             ("objective=cd", "objective must be one of trajectory, reflow"),
             ("obs_noise=-1", "obs_noise must be a number >= 0"),
             ("obs_noise=0.05", "obs_noise applies to the augment_size extra histories"),
             ("augment_size=-2", "augment_size must be an integer >= 0"),
             ("onpolicy_action_noise=2", "onpolicy_action_noise must be a number in [0, 1]"),
             ("teacher_time_power=0", "teacher_time_power must be a number > 0"),
             ("teacher_time_power=2", "teacher_time_power needs teacher_steps")]
    procs = run_clis([("parapolicy-distill", [f"checkpoint={ckpt}", arg]) for arg, _ in cases], cwd=tmp_path)
    for proc, (_, message) in zip(procs, cases):
        assert_one_line_error(proc, message)
    assert_one_line_error(run_cli("parapolicy-distill", f"checkpoint={ckpt}", "teacher_steps=10",
                                  "teacher_time_power=2", f"out={tmp_path / 'rho'}", cwd=tmp_path),
                          "needs a flow teacher")
    assert not (tmp_path / "rho").exists()
    # an existing student is not overwritten
    before = (student_dir / "model.safetensors").read_bytes()
    assert_one_line_error(run_cli("parapolicy-distill", f"checkpoint={ckpt}", "steps=1", cwd=tmp_path),
                          "already exists")
    assert (student_dir / "model.safetensors").read_bytes() == before


def test_planner_histories_are_the_replanning_states(teacher):
    """planner_histories rolls the teacher out with a menu sampler and returns, in order, the observation
    history of every replan: one every Ta steps of each episode, the first made of the reset
    observation repeated To times."""
    from parapolicy.planners.menu import build_planner
    from parapolicy.planners.onpolicy_distill import planner_histories
    from parapolicy.scripts.common import EnvConfig

    _, ckpt, _ = teacher
    policy = load_policy(ckpt)
    make = EnvConfig(id="Fork-v0").make
    planner = build_planner(policy, planner="chunked", menu=["ddim3-t0.8"], seed=41, execute_every=4)
    hist, results = planner_histories(planner, make, episodes=2, num_envs=1, seed=41, use_async=False)  # (M, To, Do)
    assert [r.seed for r in results] == [41, 42]
    assert hist.shape == (sum(-(-r.steps // 4) for r in results), policy.config.obs_horizon, policy.config.obs_dim)
    env = make()
    try:
        first, _ = env.reset(seed=41)
    finally:
        env.close()
    np.testing.assert_allclose(hist[0].numpy(), np.stack([first] * policy.config.obs_horizon), rtol=0, atol=1e-6)
    assert not torch.equal(hist[1], hist[0])  # the next replan sees the states the teacher's actions reached


def test_distill_adds_teacher_rollout_histories_to_the_bank(teacher, tmp_path):
    """teacher_rollouts=E: the histories of E teacher episodes (sampler teacher_rollout_spec, seeds from
    teacher_rollout_seed) join the bank, label_repeats times each, before the training steps; bad
    rollout options end in one line and write nothing."""
    root, ckpt, _ = teacher
    out = tmp_path / "student_tr"
    proc = run_cli("parapolicy-distill", f"checkpoint={ckpt}", "steps=2", "student_steps=1", "bank_size=16",
                   "batch_size=8", "heldout_samples=4", "teacher_rollouts=2", "teacher_rollout_spec=ddim3-t0.8",
                   "teacher_rollout_seed=123", "onpolicy_num_envs=2", "label_repeats=2", "action_horizon=4",
                   f"out={out}", "progress=false", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "teacher rollouts (ddim3-t0.8): 2 episodes" in proc.stdout, proc.stdout
    summary = json.loads((out / "config.json").read_text())["extra"]["distill"]
    tr = summary["teacher_rollouts"]
    assert (tr["spec"], tr["seed"], tr["episodes"], tr["repeats"]) == ("ddim3-t0.8", 123, 2, 2)
    assert tr["new_histories"] >= 2 and tr["success_rate"] is not None
    assert summary["bank_size"] == tr["bank_size"] == 16 + 2 * tr["new_histories"]
    cases = [(["teacher_rollout_spec=ddim3"], "give teacher_rollouts >= 1"),
             (["teacher_rollouts=1", "teacher_rollout_spec=student1"], "needs a student"),
             (["teacher_rollouts=1", "teacher_rollout_spec=ddim3-x"], "ddim3-x"),
             (["teacher_rollouts=1", "teacher_rollout_spec=flow4-ab2"], "teacher_rollout_spec=flow4-ab2"),
             (["teacher_rollouts=-1"], "teacher_rollouts must be an integer >= 0")]
    procs = run_clis([("parapolicy-distill", [f"checkpoint={ckpt}", *args, f"out={tmp_path / 'bad'}"])
                      for args, _ in cases], cwd=tmp_path)
    for proc, (_, message) in zip(procs, cases):
        assert_one_line_error(proc, message)
    assert not (tmp_path / "bad").exists()


def test_distill_level_experts_student_loads_and_continues_only_as_one(teacher, tmp_path):
    """level_experts=true writes a 2-network student that loads and samples (here with augment_size extra
    moved histories in its bank); continuing it as a single network is refused in one line and writes
    nothing."""
    root, ckpt, _ = teacher
    out = tmp_path / "experts"
    proc = run_cli("parapolicy-distill", f"checkpoint={ckpt}", "steps=2", "student_steps=2", "level_experts=true",
                   "bank_size=16", "augment_size=8", "obs_noise=0.05", "batch_size=8", "heldout_samples=4",
                   f"out={out}", "progress=false", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "config.json").read_text())["extra"]["distill"]
    assert summary["bank_size"] == 24 and summary["config"]["obs_noise"] == 0.05
    student = load_policy(out)
    assert student.config.level_experts and len(student.inference_net.experts) == 2
    assert isinstance(student.inference_net, LevelExperts)
    obs = np.zeros((student.config.obs_horizon, student.config.obs_dim), np.float32)  # (To, Do)
    assert student.predict_chunk(obs).shape[0] == student.config.pred_horizon
    assert_one_line_error(run_cli("parapolicy-distill", f"checkpoint={ckpt}", f"init_student={out}", "steps=1",
                                  "student_steps=2", f"out={tmp_path / 'single'}", cwd=tmp_path),
                          "has one network per step")
    assert not (tmp_path / "single").exists()


def test_distill_student_net_trains_its_own_network_on_another_students_bank(teacher, tmp_path):
    """student_net={denoiser: mlp}: the student is a residual MLP started fresh; bank_from= trains it on
    a saved bank without continuing that student's network; continuing the MLP student keeps its network
    without naming it again; bad student_net / bank_from values are one line and write nothing."""
    root, ckpt, _ = teacher
    banked = tmp_path / "banked"
    proc = run_cli("parapolicy-distill", f"checkpoint={ckpt}", "steps=1", "student_steps=2", "bank_size=16",
                   "batch_size=8", "heldout_samples=4", "save_bank=true", f"out={banked}", "progress=false",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "mlp"
    proc = run_cli("parapolicy-distill", f"checkpoint={ckpt}", "steps=3", "student_steps=2", f"bank_from={banked}",
                   "student_net={denoiser:mlp,mlp_width:32,mlp_blocks:1}", "batch_size=8", "heldout_samples=4",
                   f"out={out}", "progress=false", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"continuing from {banked}'s saved bank of 16 histories" in proc.stdout, proc.stdout
    assert "student network mlp" in proc.stdout and "0 of its" in proc.stdout and "the rest fresh" in proc.stdout
    summary = json.loads((out / "config.json").read_text())["extra"]["distill"]
    assert summary["bank_from"] == str(banked) and summary["bank_size"] == 16
    student = load_policy(out)
    assert student.config.denoiser == "mlp" and student.config.mlp_width == 32
    obs = np.zeros((student.config.obs_horizon, student.config.obs_dim), np.float32)  # (To, Do)
    assert student.predict_chunk(obs).shape[0] == student.config.pred_horizon
    proc = run_cli("parapolicy-distill", f"checkpoint={ckpt}", f"init_student={out}", "steps=1", "student_steps=2",
                   "bank_size=8", "batch_size=8", "heldout_samples=4", f"out={tmp_path / 'mlp2'}", "progress=false",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert load_policy(tmp_path / "mlp2").config.mlp_width == 32
    for args, msg in [(("student_net={width:3}",), "unknown student_net field"),
                      (("student_net=mlp",), "student_net must be a mapping"),
                      (("student_net={denoiser:mlp}", "anchor=1"), "a student_net has none"),
                      ((f"bank_from={tmp_path / 'mlp'}",), "holds no saved bank")]:
        assert_one_line_error(run_cli("parapolicy-distill", f"checkpoint={ckpt}", "student_steps=2", *args,
                                      f"out={tmp_path / 'bad'}", cwd=tmp_path), msg)
    assert_one_line_error(run_cli("parapolicy-distill", f"checkpoint={ckpt}", "student_steps=1", f"bank_from={banked}",
                                  f"out={tmp_path / 'bad'}", cwd=tmp_path), f"bank_from={banked} is a 2-step student")
    assert not (tmp_path / "bad").exists()


def test_distill_places_the_students_inner_level(teacher, tmp_path):
    root, ckpt, _ = teacher
    out = tmp_path / "s2"
    proc = run_cli("parapolicy-distill", f"checkpoint={ckpt}", "steps=2", "student_steps=2", "inner_levels=[7]",
                   "bank_size=16", "batch_size=8", "heldout_samples=4", f"out={out}", "progress=false", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ts = json.loads((out / "config.json").read_text())["timesteps"]
    assert len(ts) == 3 and ts[1:] == [7, -1] and ts[0] > 7
    # continuing it keeps its levels without naming them again
    proc = run_cli("parapolicy-distill", f"checkpoint={ckpt}", f"init_student={out}", "steps=1", "student_steps=2",
                   "bank_size=8", "batch_size=8", "heldout_samples=4", f"out={tmp_path / 's2b'}", "progress=false",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((tmp_path / "s2b" / "config.json").read_text())["timesteps"] == ts


def test_onpolicy_rollouts_can_perturb_the_executed_actions():
    """onpolicy_action_noise σ: the student's rollouts run in an ActionNoise-wrapped task (DART), so the
    same actions from the same seed reach other states, reproducibly; σ = 0 is the plain task."""
    from parapolicy.envs.action_noise import ActionNoise
    from parapolicy.scripts.distill import onpolicy_env_fn

    plain, noisy = onpolicy_env_fn("parapolicy/Fork-v0")(), onpolicy_env_fn("parapolicy/Fork-v0", 0.2)()
    assert isinstance(noisy, ActionNoise) and noisy.scale == 0.2 and not isinstance(plain, ActionNoise)

    def states(env, seed):
        env.reset(seed=seed)
        act = np.full(env.action_space.shape, 0.3, dtype=env.action_space.dtype)
        return np.stack([env.step(act)[0] for _ in range(5)])  # (5, Do)

    assert not np.allclose(states(plain, 1), states(noisy, 1))
    np.testing.assert_array_equal(states(noisy, 1), states(onpolicy_env_fn("parapolicy/Fork-v0", 0.2)(), 1))


def test_distill_continues_a_student_on_policy(teacher, tmp_path):
    root, ckpt, student_dir = teacher
    out = tmp_path / "student1_op"
    proc = run_cli("parapolicy-distill", f"checkpoint={ckpt}", f"init_student={student_dir}", "steps=0",
                   "student_steps=1", "bank_size=32", "batch_size=16", "heldout_samples=8", "onpolicy_rounds=1",
                   "onpolicy_episodes=2", "onpolicy_steps=3", "onpolicy_num_envs=2", "onpolicy_seed=77",
                   "save_bank=true", "seed=3", f"out={out}", "progress=false", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "on-policy round 1: the student's 2 rollouts" in proc.stdout, proc.stdout
    summary = json.loads((out / "config.json").read_text())["extra"]["distill"]
    (rnd,) = summary["onpolicy"]
    assert rnd["seed"] == 77 and rnd["episodes"] == 2 and rnd["new_histories"] >= 2
    assert summary["bank_size"] == rnd["bank_size"] == 32 + rnd["new_histories"]
    assert summary["init_student"] == str(student_dir) and summary["config"]["steps"] == 0
    assert summary["bank_from"] == "demonstrations" and not (student_dir / "distill_bank.safetensors").exists()
    assert summary["heldout_split_seed"] == 3
    # a second continuation starts from the saved bank (demonstration + on-policy histories), not a relabel
    out2 = tmp_path / "student1_op2"
    proc = run_cli("parapolicy-distill", f"checkpoint={ckpt}", f"init_student={out}", "steps=0", "student_steps=1",
                   "batch_size=16", "heldout_samples=8", "onpolicy_rounds=1", "onpolicy_episodes=2",
                   "onpolicy_steps=3", "onpolicy_num_envs=2", "onpolicy_seed=99", "seed=5", f"out={out2}",
                   "progress=false", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"saved bank of {summary['bank_size']} histories" in proc.stdout, proc.stdout
    # its demonstration histories came from the seed-3 split: that split's held-out episodes stay held out
    assert "held-out episodes from its split, seed 3" in proc.stdout, proc.stdout
    again = json.loads((out2 / "config.json").read_text())["extra"]["distill"]
    assert again["bank_from"] == str(out) and again["heldout_split_seed"] == 3
    assert again["bank_size"] == summary["bank_size"] + again["onpolicy"][0]["new_histories"]
    assert not (out2 / "distill_bank.safetensors").exists()  # save_bank defaults to false


def test_distill_on_policy_bad_inputs_are_one_line(teacher, tmp_path):
    root, ckpt, student_dir = teacher
    assert_one_line_error(run_cli("parapolicy-distill", f"checkpoint={ckpt}", "steps=0", "onpolicy_rounds=1",
                                  cwd=tmp_path), "needs init_student")
    assert_one_line_error(run_cli("parapolicy-distill", f"checkpoint={ckpt}", f"init_student={ckpt}",
                                  f"out={tmp_path / 's'}", cwd=tmp_path), "not a distilled student")
    assert_one_line_error(run_cli("parapolicy-distill", f"checkpoint={ckpt}", f"init_student={student_dir}",
                                  "student_steps=2", f"out={tmp_path / 's'}", cwd=tmp_path), "1-step student")
    assert_one_line_error(run_cli("parapolicy-distill", f"checkpoint={ckpt}", "onpolicy_rounds=-1", cwd=tmp_path),
                          "onpolicy_rounds must be an integer >= 0")
    assert_one_line_error(run_cli("parapolicy-distill", f"checkpoint={ckpt}", "onpolicy_rounds=1",
                                  "action_horizon=99", f"out={tmp_path / 's'}", cwd=tmp_path), "does not fit")
    assert not (tmp_path / "s").exists()


def test_bench_writes_json_markdown_plots_and_readme(teacher, tmp_path):
    root, ckpt, student_dir = teacher
    out = tmp_path / "bench"
    readme = tmp_path / "README.md"
    readme.write_text("# x\n<!-- bench:fork -->\nold\n<!-- /bench:fork -->\n")
    fc = tmp_path / "forecaster"
    proc = run_cli("parapolicy-forecast", f"checkpoint={ckpt}", "max_delay=4", "steps=200", "hidden=32", "rollouts=0",
                   f"out={fc}", "progress=false", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = run_cli("parapolicy-bench", f"checkpoint={ckpt}", f"students=[{student_dir}]", "episodes=2", "num_envs=2",
                   "rows=[ddpm100,picard-ddpm100-p16-amortized-student,student1,cascade]", "latency_chunks=3",
                   "latency_warmup=1", "cost_repeats=3", "realtime_steps=50", "delay_values=[0,4]",
                   "delay_modes=[naive,guided,guided+lead,guided+lead+forecast]", f"forecaster={fc}",
                   "delay_episodes=1", f"out_dir={out}", "name=fork", "readme=true",
                   f"readme_path={readme}", "readme_assets=assets", "progress=false", cwd=root, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for f in ("samplers.json", "realtime.json", "delay.json", "samplers.md", "bench.md"):
        assert (out / f).is_file(), f
    for f in ("pareto.png", "realtime.png", "delay.png"):
        assert (out / f).read_bytes()[:8] == PNG, f
        assert (tmp_path / "assets" / f"fork-{f}").is_file()
    s = json.loads((out / "samplers.json").read_text())
    rows = {r["name"]: r for r in s["rows"]}
    assert set(rows) == {"ddpm100", "picard-ddpm100-p16-amortized-student", "student1", "cascade"}
    assert rows["ddpm100"]["depth"] == 100 and rows["ddpm100"]["depth_ratio"] == 1.0
    assert rows["student1"]["nfe"] == 1 and rows["student1"]["depth_ratio"] == pytest.approx(0.01)
    assert rows["cascade"]["escalation_rate"] is not None
    for r in rows.values():
        assert r["episodes"] == 2 and r["seeds"] == [100000, 100001] and len(r["episode_results"]) == 2
        assert r["latency_p99_ms"] >= r["latency_p50_ms"] > 0 and r["predicted_ms"] > 0 and r["cost_batch1_ms"] > 0
        assert r["provenance"]["git_commit"] and "parapolicy-bench" in r["provenance"]["command"]
    rt = json.loads((out / "realtime.json").read_text())
    assert rt["ticks"] == 50 and rt["replans"] >= 1 and sum(rt["chosen"].values()) == rt["replans"]
    assert rt["execute_every"] == rt["action_horizon"] == 8  # s defaults to the policy's Ta
    assert rt["provenance"]["seeds"] and rt["missed_ticks"] >= 0
    dl = json.loads((out / "delay.json").read_text())
    assert set(dl["curves"]) == {"naive", "guided", "guided+lead", "guided+lead+forecast"}
    assert [(p["lead"], p["forecast"]) for p in dl["curves"]["guided+lead+forecast"]] == [(True, True)] * 2
    assert [p["delay"] for p in dl["curves"]["guided"]] == [0, 4]
    # a switch may leave the action unchanged (both clipped at the action bound): a ratio of 0 is valid
    assert all(p["switch_jump_ratio"] is not None and p["switch_jump_ratio"] >= 0 and p["step_mean"] > 0
               for c in dl["curves"].values() for p in c)
    assert "Mean action change at the tick that switches" in (out / "bench.md").read_text()
    # a lead changes nothing at d = 0, and at d = 4 it switches chunks every 4 ticks instead of every 8
    # (counted over the one episode's own length, which may differ between the modes)
    (g0, g4), (l0, l4) = dl["curves"]["guided"], dl["curves"]["guided+lead"]
    assert l0["lead"] and not g0["lead"] and l0["chunks_per_100_ticks"] == g0["chunks_per_100_ticks"]
    assert l4["chunks_per_100_ticks"] > g4["chunks_per_100_ticks"] > 0
    assert "Chunks switched to per 100 control ticks" in (out / "bench.md").read_text()
    text = readme.read_text()
    assert "old" not in text and "| ddpm100 |" in text and "assets/fork-pareto.png" in text
    assert "commit `" in (out / "bench.md").read_text()


def test_bench_bad_inputs_are_one_line(teacher, tmp_path):
    root, ckpt, student_dir = teacher
    cases = (("action_horizon=0", "action_horizon must be null or an integer >= 1"),
             ("action_horizon=16", "action_horizon=16 does not fit the policy's chunk"),
             ("samplers_reference=ddpm100", "samplers_reference=ddpm100 is neither one of rows"),
             ("realtime_max_delay=0", "realtime_max_delay must be null or an integer >= 1"),
             ("delay_modes=[guided+late]", "unknown delay mode(s) ['guided+late']"),
             ("delay_modes=[guided+lead+lead]", "unknown delay mode(s)"),
             ("delay_modes=[guided+forecast]", "need forecaster=<dir>"),
             ("device=tpu", "unknown device 'tpu'; allowed: auto, cpu, cuda"),
             ("realtime_planner=fast", "unknown realtime_planner 'fast'; allowed: async, sync"),
             ("realtime_planner=sync realtime_lead=true", "realtime_lead needs realtime_planner=async"),
             *([] if torch.cuda.is_available() else
               [("device=cuda", "device 'cuda' requested but CUDA is not available")]))
    procs = run_clis([("parapolicy-bench", [f"checkpoint={ckpt}", "sections=[samplers]", "rows=[student1]",
                                            f"students=[{student_dir}]", *bad.split()]) for bad, _ in cases],
                     cwd=tmp_path)
    for proc, (_, fragment) in zip(procs, cases):
        assert_one_line_error(proc, fragment)
    fc = tmp_path / "fc2"  # reaches 2 ticks: a delay of 4 is refused before any section runs
    # its rollouts sample with a planner menu spec (the deployed sampler), one of the two held out
    proc = run_cli("parapolicy-forecast", f"checkpoint={ckpt}", "max_delay=2", "steps=20", "hidden=16", "rollouts=2",
                   "rollout_spec=ddim5-t0.8", f"out={fc}", "progress=false", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((fc / "forecaster.json").read_text())["summary"]
    assert summary["config"]["rollout_spec"] == "ddim5-t0.8" and summary["rollout_success"] is not None
    assert [r["k"] for r in summary["heldout_rollouts"]] == [1, 2]
    spec_cases = (("rollout_spec=ddim5 temperature=0.8", "drop temperature"),
                  ("rollout_spec=ddim5 rollout_steps=5", "drop rollout_steps"),
                  ("rollout_spec=student1", "needs a student"),
                  ("rollout_spec=ddim5-x", "ddim5-x"))
    procs = run_clis([("parapolicy-forecast", [f"checkpoint={ckpt}", f"out={tmp_path / 'fc3'}", *bad.split()])
                      for bad, _ in spec_cases], cwd=tmp_path)
    for proc, (_, fragment) in zip(procs, spec_cases):
        assert_one_line_error(proc, fragment)
    assert not (tmp_path / "fc3").exists()
    out = tmp_path / "refused"
    assert_one_line_error(run_cli("parapolicy-bench", f"checkpoint={ckpt}", "sections=[samplers,delay]",
                                  "rows=[ddim10]", "delay_values=[0,4]", "delay_modes=[frozen+lead+forecast]",
                                  f"forecaster={fc}", f"out_dir={out}", cwd=tmp_path),
                          "delay 4 is beyond the forecaster's max_delay=2")
    assert not (out / "samplers.json").exists()
    assert_one_line_error(run_cli("parapolicy-bench", f"checkpoint={student_dir}", cwd=tmp_path), "distilled student")
    assert_one_line_error(run_cli("parapolicy-bench", f"checkpoint={ckpt}", "rows=[picard-ddpm100-p0]", cwd=tmp_path),
                          "Picard window")


def test_bench_samplers_at_another_action_horizon(teacher, tmp_path):
    """action_horizon=3 replans every 3 actions (the policy was trained with Ta = 8) and keys the table."""
    root, ckpt, student_dir = teacher
    out = tmp_path / "bench"
    common = [f"checkpoint={ckpt}", f"students=[{student_dir}]", "sections=[samplers]", "episodes=1", "num_envs=1",
              "latency_chunks=2", "latency_warmup=0", "cost_repeats=2", f"out_dir={out}", "progress=false"]
    proc = run_cli("parapolicy-bench", *common, "rows=[student1,student1-t0.5]", "samplers_reference=student1-t0.5",
                   "action_horizon=3", cwd=root, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    s = json.loads((out / "samplers.json").read_text())
    row = next(r for r in s["rows"] if r["name"] == "student1")
    assert s["key"]["action_horizon"] == 3 and s["reference"] == "student1-t0.5"
    assert row["latency_rounds"] == 1 and "latency_interleaved_with" not in row  # timed on its own
    assert next(r for r in s["rows"] if r["name"] == "student1-t0.5")["latency_ratio"] == 1.0
    steps = row["episode_results"][0]["steps"]
    assert row["batched_eval"]["replans"] == math.ceil(steps / 3), (steps, row["batched_eval"])
    md = (out / "samplers.md").read_text()
    assert "Ta = 3, 1 episodes per row" in md and "p50 ÷ student1-t0.5" in md
    # a later run at the same Ta keeps the reference row it merges from the first one
    proc = run_cli("parapolicy-bench", *common, "rows=[student1]", "samplers_reference=student1-t0.5",
                   "action_horizon=3", cwd=root, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    s = json.loads((out / "samplers.json").read_text())
    assert {r["name"]: r["latency_ratio"] is not None for r in s["rows"]} == {"student1": True, "student1-t0.5": True}
    # a run at the policy's own Ta is another table: the Ta = 3 row is not merged into it
    proc = run_cli("parapolicy-bench", *common, "rows=[student1]", cwd=root, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    s = json.loads((out / "samplers.json").read_text())
    assert s["key"]["action_horizon"] == 8 and s["key"]["device"] == "cpu" and len(s["rows"]) == 1
    steps8 = s["rows"][0]["episode_results"][0]["steps"]
    assert s["rows"][0]["batched_eval"]["replans"] == math.ceil(steps8 / 8)
    assert "another checkpoint/env/seed/episodes/Ta" in proc.stdout


def test_bench_interleaves_the_latency_passes_of_a_call(teacher, tmp_path):
    """latency_rounds=2: every row's success pass first, then both rows timed in alternating rounds, each
    in at least two episode segments; the rows and the table's footnote say so."""
    root, ckpt, student_dir = teacher
    out = tmp_path / "bench"
    proc = run_cli("parapolicy-bench", f"checkpoint={ckpt}", f"students=[{student_dir}]", "sections=[samplers]",
                   "rows=[ddim10,student1]", "episodes=2", "num_envs=2", "latency_chunks=4", "latency_warmup=1",
                   "latency_rounds=2", "cost_repeats=2", f"out_dir={out}", "progress=false", cwd=root, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    first_timed = min(re.search(rf"{n}: success [0-9]", proc.stdout).start() for n in ("ddim10", "student1"))
    assert proc.stdout.index("student1: success pass done") < first_timed  # timing starts after both passes
    rows = {r["name"]: r for r in json.loads((out / "samplers.json").read_text())["rows"]}
    for name, other in (("ddim10", "student1"), ("student1", "ddim10")):
        r = rows[name]
        assert r["latency_chunks"] == 4 and r["latency_rounds"] == 2
        assert r["latency_interleaved_with"] == [other] and r["latency_episodes"] >= 2
        assert r["episodes"] == 2 and r["depth"] == (10 if name == "ddim10" else 1)
    assert "interleaved in 2 rounds" in (out / "samplers.md").read_text()
    assert_one_line_error(run_cli("parapolicy-bench", f"checkpoint={ckpt}", "latency_rounds=0", cwd=tmp_path),
                          "latency_rounds")


def test_bench_on_a_flow_teacher_uses_its_own_chain_as_reference(teacher, tmp_path):
    root, _, _ = teacher
    proc = run_cli("parapolicy-train", "env=Fork-v0", f"dataset={root / 'fork.hdf5'}", f"out={tmp_path / 'flow'}",
                   "policy.objective=flow", *TINY, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "bench"
    proc = run_cli("parapolicy-bench", f"checkpoint={tmp_path / 'flow' / 'checkpoint'}", "sections=[samplers,realtime]",
                   "rows=[flow100,flow10]", "episodes=2", "num_envs=2", "latency_chunks=3", "latency_warmup=1",
                   "cost_repeats=3", "realtime_steps=90", "realtime_execute_every=4", "realtime_max_delay=2",
                   f"out_dir={out}", "progress=false", cwd=tmp_path, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    s = json.loads((out / "samplers.json").read_text())
    rows = {r["name"]: r for r in s["rows"]}
    assert s["reference"] == "flow100" and rows["flow100"]["depth_ratio"] == 1.0
    assert rows["flow10"]["depth_ratio"] == pytest.approx(0.1)
    rt = json.loads((out / "realtime.json").read_text())
    # the DDPM default menu, translated, with the flow-only AB2 items; the items needing a student are
    # dropped (none was given)
    assert rt["menu"] == ["flow100", "flow5-rho2-ab2", "flow4-rho2-ab2", "flow10", "warm-flow10"]
    assert rt["sequential_row"] == "flow100"
    assert rt["finished_episodes"] >= 1 and rt["reference"]["name"] == "flow100"  # Fork ends by 80 ticks
    # RTC's execution horizon s = 4 of Ta = 8: the first asynchronous request of an episode comes at tick 4
    # (its first chunk is computed synchronously), each later one 4 ticks after the previous one, or as
    # soon as that one arrived when its inference took longer than 4 ticks (wall clock, 50 Hz)
    assert rt["execute_every"] == 4 and rt["action_horizon"] == 8
    assert rt["max_delay"] == 2 and 0 <= rt["delay_limited"] <= rt["replans"]
    reqs = rt["requests"]
    assert reqs and rt["replans"] == len(reqs) + rt["episodes"]  # + one synchronous chunk per episode
    for prev, cur in zip(reqs, reqs[1:]):
        if cur[0] != prev[0]:
            assert cur[1] == 4
            continue
        assert cur[1] - prev[1] == max(4, prev[2] - prev[1]), (prev, cur)
    assert reqs[0][1] == 4 and all(r[2] >= r[1] for r in reqs)
    text = (out / "bench.md").read_text()
    assert "ratios against sequential flow-100" in text and "p50 ÷ flow-100" in text and "DDPM" not in text
    assert "| actions executed per chunk s (policy's Ta) | 4 (8) |" in text
    limit_row = (f"| delay limit (chunk requests where it ruled out a better sampler) | 2 ticks "
                 f"({rt['delay_limited']}) |")
    assert limit_row in text


def test_paced_episode_pauses_garbage_collection_inside_the_episode():
    """No automatic collection pause may land inside a tick: it is off while the episode runs and on
    again after it (also when the policy raises)."""
    import gc

    from parapolicy.scripts.bench_realtime import paced_episode

    class Env:
        def reset(self, seed=None):
            return np.zeros(2), {}

        def step(self, action):
            return np.zeros(2), 0.0, False, False, {"is_success": True}

    class Policy:
        def __init__(self, fail=False):
            self.seen, self.fail = [], fail

        def reset(self, seed=None):
            pass

        def act(self, obs):
            self.seen.append(gc.isenabled())
            if self.fail and len(self.seen) > 2:
                raise RuntimeError("boom")
            return np.zeros(1)

    assert gc.isenabled()
    p = Policy()
    ep = paced_episode(Env(), p, seed=0, hz=1000.0, max_steps=5)
    assert ep.steps == 5 and ep.success and p.seen == [False] * 5 and gc.isenabled()
    assert len(ep.late_detail) == ep.late_ticks  # each late tick says where its time went

    class Replanner(Policy):  # a 30 ms replan on its third call, recorded like a planner's
        records: list = []

        def act(self, obs):
            if len(self.seen) == 2:
                time.sleep(0.03)
                self.records = [1]
            return super().act(obs)

    ep = paced_episode(Env(), Replanner(), seed=0, hz=50.0, max_steps=5)
    slow = [d for d in ep.late_detail if d["act_ms"] >= 25]
    assert ep.late_ticks >= 1 and len(slow) == 1 and slow[0]["replanned"] and slow[0]["step"] == 2
    with pytest.raises(RuntimeError, match="boom"):
        paced_episode(Env(), Policy(fail=True), seed=0, hz=1000.0, max_steps=5)
    assert gc.isenabled()


def test_bench_realtime_sync_replans_inside_the_tick(teacher, tmp_path):
    """realtime_planner=sync: RealtimePlanner on the control thread, the best item predicted to fit the
    budget, a replan every s actions; with no background queue a missed tick is a late one."""
    root, ckpt, _ = teacher
    out = tmp_path / "bench"
    proc = run_cli("parapolicy-bench", f"checkpoint={ckpt}", "sections=[realtime]", "realtime_planner=sync",
                   "realtime_menu=[ddpm100,ddim3]", "realtime_budget_ms=15", "realtime_hz=20", "realtime_steps=60",
                   "realtime_execute_every=3", "cost_repeats=3", f"out_dir={out}", "progress=false", cwd=tmp_path,
                   timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rt = json.loads((out / "realtime.json").read_text())
    assert rt["planner"] == "sync" and rt["rtc_mode"] is None and rt["requests"] == []
    assert rt["execute_every"] == 3 and rt["action_horizon"] == 8 and rt["ticks"] == 60
    assert rt["missed_ticks"] == rt["late_ticks"] >= 0
    assert rt["sequential_predicted_ms"] > 15 and set(rt["chosen"]) == {"ddim3"}  # DDPM-100 does not fit
    # one replan per 3 actions in each episode (an episode's last chunk may be cut short)
    assert rt["ticks"] / 3 <= rt["replans"] <= rt["ticks"] / 3 + rt["episodes"]
    text = (out / "bench.md").read_text()
    assert "| planner | synchronous (each replan inside its tick, no delay) |" in text and "RTC" not in text


def test_default_specs_translate_for_a_flow_teacher():
    from parapolicy.scripts.bench import DEFAULT_ROWS, DEFAULT_RT_MENU, for_teacher, reference_row
    from parapolicy.scripts.bench_report import row_label
    from parapolicy.planners.menu import parse_spec

    rows = for_teacher(DEFAULT_ROWS, DEFAULT_ROWS, "flow")
    assert rows[:5] == ["flow100", "flow5-rho2-ab2", "flow4-rho2-ab2", "flow10", "picard-flow100-p16"]
    assert "warm-flow10" in rows
    menu = for_teacher(DEFAULT_RT_MENU, DEFAULT_RT_MENU, "flow")
    i = menu.index("flow10")
    assert menu[i - 2:i] == ["flow5-rho2-ab2", "flow4-rho2-ab2"] and len(menu) == len(DEFAULT_RT_MENU) + 2
    assert not any("ddpm" in r or "ddim" in r for r in rows)
    for spec in [*rows, *for_teacher(DEFAULT_RT_MENU, DEFAULT_RT_MENU, "flow")]:
        parse_spec(spec)  # every translated default is a valid spec
    assert for_teacher(DEFAULT_ROWS, DEFAULT_ROWS, "ddpm") == DEFAULT_ROWS
    assert for_teacher(["ddpm100"], DEFAULT_ROWS, "flow") == ["ddpm100"]  # what the user wrote stays
    assert (reference_row("ddpm"), reference_row("flow")) == ("ddpm100", "flow100")
    assert (row_label("ddpm100"), row_label("flow100"), row_label("student2")) == ("DDPM-100", "flow-100", "student2")
    assert row_label("flow100-t0.8") == "flow-100 at T = 0.8" and row_label("picard-ddpm100-p16-tau0.3") == \
        "picard-ddpm100-p16-tau0.3"


# ------------------------------------------------------------------------------------------ planner factory
def test_spec_parsing():
    from parapolicy.planners.menu import parse_spec

    s = parse_spec("picard-ddpm100-p16-tau0.05-amortized-student2")
    assert (s.kind, s.schedule, s.steps, s.window, s.tol, s.amortized, s.student_steps) == \
        ("picard", "ddpm", 100, 16, 0.05, "student", 2)
    assert parse_spec("picard-ddim10-p4-amortized").amortized == "warm"
    la = parse_spec("picard-ddpm100-p16-look-amortized-student1")
    assert la.lookahead and la.amortized == "student" and not parse_spec("picard-ddpm100-p16").lookahead
    assert parse_spec("warm-ddim10").warm_start == -1 and parse_spec("warm-ddim10-s3").warm_start == 3
    assert parse_spec("student").student_steps is None and parse_spec("student2").student_steps == 2
    c = parse_spec("cascade-student1-ddpm100")
    assert c.student_steps == 1 and (c.teacher.schedule, c.teacher.steps) == ("ddpm", 100)
    t = parse_spec("student2-T0.8")
    assert (t.kind, t.student_steps, t.temperature, t.text) == ("student", 2, 0.8, "student2-T0.8")
    assert parse_spec("picard-ddpm100-p16-tau0.3-look-amortized-t.5").temperature == 0.5
    assert parse_spec("flow10").temperature == 1.0
    r = parse_spec("flow20-rho2-t0.8")
    assert (r.kind, r.schedule, r.steps, r.time_power, r.temperature) == ("sequential", "flow", 20, 2.0, 0.8)
    assert parse_spec("flow20").time_power == 1.0 and parse_spec("flow5-rho.5").time_power == 0.5
    a = parse_spec("flow6-rho2.5-ab2-t0.8")
    assert (a.kind, a.steps, a.time_power, a.solver, a.temperature) == ("sequential", 6, 2.5, "ab2", 0.8)
    assert parse_spec("flow6-ab2").solver == "ab2" and parse_spec("flow6-rho2").solver == "euler"
    assert parse_spec("flow10").kind == "sequential" and parse_spec("cascade").teacher is None
    assert parse_spec("student1").needs_student and not parse_spec("ddim10").needs_student
    w = parse_spec("warm-student2-t0.8")
    assert (w.kind, w.student_steps, w.warm_start, w.temperature, w.needs_student) == ("student", 2, -1, 0.8, True)
    assert parse_spec("warm-student-s1").warm_start == 1 and parse_spec("warm-student-s1").student_steps is None
    d = parse_spec("draft-student2-flow4-rho2-t0.8")
    assert (d.kind, d.student_steps, d.teacher.schedule, d.teacher.steps, d.teacher.time_power, d.temperature) == \
        ("draft", 2, "flow", 4, 2.0, 0.8) and d.needs_student
    dd = parse_spec("draft-student-ddim4")
    assert dd.student_steps is None and (dd.teacher.schedule, dd.teacher.time_power) == ("ddim", 1.0)
    assert dd.handoff is None
    da = parse_spec("draft-student1-flow2-rho2-at0.05-t0.8")
    assert (da.student_steps, da.teacher.steps, da.teacher.time_power, da.handoff, da.temperature) == \
        (1, 2, 2.0, 0.05, 0.8)


@pytest.mark.parametrize("spec,fragment", [
    ("picard-ddpm100-p0", "Picard window must be an integer >= 1"), ("picard-ddpm100", "needs a sampler and a window"),
    ("dpm10", "unknown sampler name"), ("ddim10-x", "unexpected suffix"), ("warm-ddim10-s10", "warm start level"),
    ("picard-ddpm100-p8-tauX", "tau<number>"), ("", "non-empty"), ("student0", "at least 1 step"),
    ("flow10-t0", "temperature must be a number > 0"), ("cascade-t0.8", "a cascade samples at temperature 1"),
    ("flow10-t0.8-t0.5", "at most one -t<temperature>"), ("flow20-rho0", "time power rho must be a number > 0"),
    ("ddim10-rho2", "unexpected suffix 'rho2'"), ("flow20-rho2-rho3", "unexpected suffix"),
    ("ddim10-ab2", "the ab2 solver integrates a flow model"), ("flow6-ab2-rho2", "unexpected suffix 'ab2-rho2'"),
    ("draft-student2", "needs a student and the teacher's finish"), ("draft-flow4", "needs a student"),
    ("draft-student2-ddpm10", "must be deterministic"), ("draft-student2-ddim4-rho2", "a flow finish takes"),
    ("draft-student2-flow4-rho2-x", "unexpected suffix"), ("draft-student2-flow4-rho0", "rho must be a number > 0"),
    ("draft-student1-ddim4-at0.05", "a handoff time -at<t> is a flow time"),
    ("draft-student1-flow1-at1", r"the handoff time must lie in \(0, 1\)"),
    ("draft-student1-flow1-at0.05-at0.1", "unexpected suffix"),
])
def test_bad_specs(spec, fragment):
    from parapolicy.planners.menu import ALLOWED_FORMS, parse_spec

    with pytest.raises(ValueError, match=fragment) as e:
        parse_spec(spec)
    assert "\n" not in str(e.value) and (ALLOWED_FORMS in str(e.value) or "Picard window" in str(e.value))


def test_students_of_a_traced_teacher_are_traced(teacher):
    from parapolicy.planners.menu import load_students
    from parapolicy.policies import load_policy

    root, ckpt, student_dir = teacher
    policy = load_policy(ckpt)
    assert not any(s.traced for s in load_students([student_dir], policy).values())
    policy.trace_inference()
    students = load_students([student_dir], policy)
    assert students and all(s.traced for s in students.values())


@pytest.fixture(scope="module")
def loaded(teacher):
    from parapolicy.policies import load_policy

    root, ckpt, student_dir = teacher
    return load_policy(ckpt), load_policy(student_dir)


def test_warm_student_item(loaded):
    """warm-student…: the student's sampler and network, started from the previous chunk at its middle
    level (K // 2) or the level given; a level the student does not have is one line."""
    from parapolicy.planners.menu import build_item, make_context

    pol, student = loaded
    ctx = make_context(pol, student=student)
    item = build_item("warm-student1", ctx)
    assert item.warm_start == 0 and item.sampler.num_steps == 1 and item.denoiser == student.denoiser
    assert build_item("student1", ctx).warm_start is None
    with pytest.raises(ValueError, match=r"must be in \[0, 0\] for a 1-step student, got 1") as e:
        build_item("warm-student1-s1", ctx)
    assert "\n" not in str(e.value)


@pytest.fixture(scope="module")
def student2(teacher):
    """A 2-step student of the tiny teacher, its middle level at DDPM level 40 (room for a finish below it)."""
    root, ckpt, _ = teacher
    out = root / "student2"
    proc = run_cli("parapolicy-distill", f"checkpoint={ckpt}", "steps=5", "student_steps=2", "inner_levels=[40]",
                   "bank_size=64", "batch_size=32", "heldout_samples=16", f"out={out}", "progress=false", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return load_policy(out)


def test_draft_item_hands_the_students_middle_level_to_the_teachers_ddim(loaded, student2):
    """draft-student2-ddim4 on a DDPM model: the student's first step to its middle level, then four
    DDIM steps of the teacher's network from there; the same as running the two by hand."""
    from parapolicy.planners.base import Budget
    from parapolicy.planners.sequential import SequentialSampler
    from parapolicy.planners.menu import build_item, make_context

    pol, student1 = loaded
    ctx = make_context(pol, student=[student1, student2])
    item = build_item("draft-student2-ddim4-t0.8", ctx)
    ts = student2.timesteps  # (3,) DDPM levels [top, 40, -1]
    assert ts[1].item() == 40 and item.temperature == 0.8 and item.sampler.num_steps == 5
    assert item.sampler.timesteps[1:].tolist() == [40, 30, 20, 9, -1]  # 41 levels over 4 steps, as DDIM spaces them
    assert item.sampler.timesteps[:2].tolist() == ts[:2].tolist() and item.sampler.timesteps[-1].item() == -1
    cond = pol.encode_obs(torch.zeros(2, 2, 6))  # (B, Dc)
    x = torch.randn(2, 16, 2, generator=torch.Generator().manual_seed(0))  # (B, H, Da)
    res = item.sampler.sample(item.denoiser, cond, x_init=x, budget=Budget())
    assert res.nfe == 5 and item.denoiser.calls == {"student": 1, "teacher": 4}
    mid = SequentialSampler(student2.schedule, ts[:2]).sample(student2.denoiser, cond, x_init=x, budget=Budget()).x0
    fin = SequentialSampler(student2.schedule, item.sampler.timesteps[1:]).sample(pol.denoiser, cond, x_init=mid,
                                                                                  budget=Budget())
    torch.testing.assert_close(res.x0, fin.x0)
    with pytest.raises(ValueError, match="at least 2 steps") as e:
        build_item("draft-student1-ddim4", ctx)
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match=r"own chain \(ddim<K> here\)"):
        build_item("draft-student2-flow4", ctx)


def test_build_planner_kinds_and_statistics(loaded, tmp_path):
    from parapolicy.planners.async_executor import AsyncExecutor, run_paced
    from parapolicy.planners.realtime import RealtimePlanner
    from parapolicy.planners.menu import build_planner, planner_statistics, status_text

    pol, student = loaded
    calib = np.random.default_rng(0).normal(size=(16, 2, 6)).astype(np.float32)  # (N, To, Do)
    menu = ["ddpm100", "picard-ddpm100-p16-amortized-student", "warm-ddim10", "student1", "cascade"]
    obs = np.zeros(6, np.float32)
    rt = build_planner(pol, planner="realtime", menu=menu, budget_ms=1e4, student=student, calibration_obs=calib,
                       cost_cache_dir=tmp_path, seed=1)
    assert isinstance(rt, RealtimePlanner) and [m.name for m in rt.menu] == menu
    for _ in range(10):
        assert rt.act(obs).shape == (2,)
    st = planner_statistics(rt)
    assert st["kind"] == "realtime" and st["replans"] == 2 and "cascade" in st["escalation_rate"]
    assert status_text(rt).startswith(rt.records[-1].name) and status_text(build_planner(pol)) == ""
    ch = build_planner(pol, planner="chunked", menu=["student1", "ddim10"], student=student)
    ch.act(obs)
    assert planner_statistics(ch)["chosen"] == {"student1": 1}
    for delay, timing in ((2, "simulated"), (None, "wall")):
        ex = build_planner(pol, planner="async", menu=["student1"], budget_ms=500, control_hz=50, delay=delay,
                           rtc_mode="frozen", student=student)
        assert isinstance(ex, AsyncExecutor) and ex.timing == timing
        ex.reset(seed=0)
        run_paced(ex, lambda k: obs, 12, 50.0)  # 50 Hz wall clock: the worker has time to deliver
        ex.close()
        st = planner_statistics(ex)
        assert st["kind"] == "async" and st["ticks"] == 12 and st["planner"]["replans"] >= 2


def test_amortized_student_picard_counts_the_student(loaded):
    from parapolicy.planners.base import Budget
    from parapolicy.planners.menu import build_menu
    from parapolicy.planners.student_picard import StudentInitPicardSampler

    pol, student = loaded
    item = build_menu(pol, ["picard-ddim10-p4-tau0-amortized-student"], student=student)[0]
    assert isinstance(item.sampler, StudentInitPicardSampler)
    cond = pol.encode_obs(torch.zeros(2, 2, 6))  # (B, Dc)
    x = torch.randn(2, 16, 2, generator=torch.Generator().manual_seed(0))  # (B, H, Da)
    res = item.sampler.sample(pol.denoiser, cond, x_init=x, budget=Budget())
    assert res.converged and res.extra["student_depth"] == 1 and res.depth == 1 + res.extra["picard_depth"]
    seq = build_menu(pol, ["ddim10"])[0].sampler.sample(pol.denoiser, cond, x_init=x, budget=Budget())
    # τ = 0: the sequential sample, whatever the initial guess. The tolerance allows float rounding of
    # a (P·B)-row call against a B-row call, amplified up to 1/√ᾱ ≈ 2000× by the ε→x0 conversion at
    # the top DDPM level (one run of this file failed at atol 1e-4)
    assert torch.allclose(res.x0, seq.x0, atol=2e-3)


@pytest.mark.parametrize("kwargs,fragment", [
    (dict(budget_ms=0), "budget_ms must be a number > 0"), (dict(budget_ms=math.nan), "budget_ms must be a number > 0"),
    (dict(budget_ms=-5.0), "budget_ms"), (dict(planner="async", delay=8), "larger than the chunk allows"),
    (dict(planner="async", delay=-1), "delay must be an integer >= 0"), (dict(delay=2), "needs planner=async"),
    (dict(menu=["student1"]), "needs a distilled student"), (dict(menu=["picard-ddpm100-p0"]), "Picard window"),
    (dict(menu=["nosuch5"]), "unknown sampler name"), (dict(menu=["ddpm500"]), "at most num_train_steps"),
    (dict(menu=["flow10"]), "cannot run a model"), (dict(planner="fast"), "unknown planner"),
    (dict(rtc_mode="soft"), "unknown rtc_mode"), (dict(control_hz=0), "control_hz"), (dict(menu=[]), "menu is empty"),
    (dict(max_delay=1), "max_delay=1 needs planner=async"), (dict(planner="async", max_delay=0), "max_delay must be"),
    (dict(planner="async", delay=1, max_delay=2), "give one of them"),
    (dict(lead=True), "lead=true needs planner=async"), (dict(planner="async", delay=8, lead=True), "larger than"),
    (dict(execute_every=0), "execute_every must be an integer in"),
    (dict(planner="chunked", execute_every=16), "execute_every must be an integer in"),
])
def test_build_planner_bad_inputs(loaded, kwargs, fragment):
    from parapolicy.planners.menu import build_planner

    pol, _ = loaded
    with pytest.raises(ValueError, match=fragment) as e:
        build_planner(pol, **kwargs)
    assert "\n" not in str(e.value)


def test_students_must_belong_and_cascade_needs_its_teacher(loaded):
    from parapolicy.planners.menu import build_planner

    pol, student = loaded
    with pytest.raises(ValueError, match="needs a 2-step student; available: student1"):
        build_planner(pol, menu=["student2"], student=student)
    with pytest.raises(ValueError, match="held-out observations"):
        build_planner(pol, menu=["cascade"], student=student)
    with pytest.raises(ValueError, match="itself a distilled student"):  # a student passed as the teacher
        build_planner(student, menu=["cascade"], student=student, calibration_obs=np.zeros((4, 2, 6), np.float32))
    with pytest.raises(ValueError, match="records none"):
        build_planner(pol, menu=["student1"], student=pol)


def test_bench_delay_curves_merge_across_runs(teacher, tmp_path):
    """merge=true keeps the curves of modes a later run does not measure (same checkpoint, sampler,
    seeds, episodes, Ta); each point keeps the provenance of the run that measured it."""
    root, ckpt, _ = teacher
    out = tmp_path / "bench"
    common = (f"checkpoint={ckpt}", "sections=[delay]", "delay_values=[0,1]", "delay_episodes=1", f"out_dir={out}",
              "progress=false")
    for modes in ("[naive,frozen]", "[frozen,guided+lead]"):
        proc = run_cli("parapolicy-bench", *common, f"delay_modes={modes}", cwd=root, timeout=240)
        assert proc.returncode == 0, proc.stderr[-3000:]
    dl = json.loads((out / "delay.json").read_text())
    assert list(dl["curves"]) == ["naive", "frozen", "guided+lead"]
    cmds = {m: {p["provenance"]["command"] for p in c} for m, c in dl["curves"].items()}
    assert cmds["naive"] != cmds["frozen"] == cmds["guided+lead"]  # frozen was measured again
    assert "curves from commit(s)" in (out / "bench.md").read_text()
    proc = run_cli("parapolicy-bench", *common, "delay_modes=[naive]", "delay_episodes=2", cwd=root, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert list(json.loads((out / "delay.json").read_text())["curves"]) == ["naive"]  # another key: replaced


def test_bench_predicts_a_cheaper_student_network_with_its_own_cost_model():
    """network_cost_model: a student on the teacher's network is predicted with the teacher's cost model;
    one with its own network gets a cost model measured for that network (cached by architecture),
    sharing the teacher's per-pass sampler overheads."""
    from types import SimpleNamespace

    from parapolicy.planners.cost_model import CostModel
    from parapolicy.policies import PolicyConfig, make_policy
    from parapolicy.scripts.bench_samplers import network_cost_model

    base = dict(obs_dim=3, action_dim=2, pred_horizon=8, action_horizon=4, objective="flow")
    teacher = make_policy(PolicyConfig(**base, down_dims=(64, 128)))
    same = make_policy(PolicyConfig(**base, down_dims=(64, 128)))
    small = make_policy(PolicyConfig(**base, denoiser="mlp", mlp_width=16, mlp_blocks=1))
    cm = CostModel(latency_s={1: 0.5, 2: 0.6}, overhead_s={"s": 1e-4})
    b = SimpleNamespace(cfg=SimpleNamespace(cost_repeats=3, cost_stat="median"),
                        ctx=SimpleNamespace(model=SimpleNamespace(pred_horizon=8, action_dim=2, device="cpu")),
                        policy=teacher, cost_model=cm, net_cost_models={})
    assert network_cost_model(b, None) is cm and network_cost_model(b, same.denoiser) is cm
    own = network_cost_model(b, small.denoiser)
    assert own is not cm and own.cost(1) < 0.1  # measured for the MLP, not the teacher's (fake) 0.5 s
    assert own.overhead("s") == 1e-4 and network_cost_model(b, small.denoiser) is own


def test_bench_cost_model_keeps_cold_warm_and_steady_calls_and_averages_them(monkeypatch):
    """measure_cost_model times, per round and size, a cold call and a warm chain after it
    (cost_model.chain_timings); average_cost sets every kind to the mean of two measurements."""
    from types import SimpleNamespace

    import parapolicy.planners.cost_model as cmod
    from parapolicy.planners.cost_model import CHAIN_CALLS, STEADY_CALLS, CostModel
    from parapolicy.scripts.bench import measure_cost_model
    from parapolicy.scripts.bench_samplers import average_cost

    calls: list[int] = []

    def fake_timing(*_args):
        def timing(batch: int) -> float:
            warm = bool(calls) and calls[-1] == batch
            calls.append(batch)
            return (0.001 if warm else 0.003) * batch
        return timing

    monkeypatch.setattr(cmod, "_real_timing", fake_timing)
    cm = measure_cost_model(object(), (8, 2), 6, rounds=4, warmup=1, stat="median", batch_sizes=(1, 2))
    assert len(calls) == (1 + 4) * 2 * (1 + CHAIN_CALLS + STEADY_CALLS)
    assert cm.latency_s == {1: pytest.approx(0.003), 2: pytest.approx(0.006)}
    assert cm.warm_latency_s == cm.steady_latency_s == {1: pytest.approx(0.001), 2: pytest.approx(0.002)}
    assert cm.meta["warm_median_s"] == cm.warm_latency_s and cm.meta["median_s"] == cm.latency_s
    assert cm.meta["steady_median_s"] == cm.steady_latency_s
    b = SimpleNamespace(cost_model=CostModel(latency_s={1: 1.0, 2: 1.0}))
    after = CostModel(latency_s={1: 0.005, 2: 0.008}, warm_latency_s={1: 0.003, 2: 0.004},
                      steady_latency_s={1: 0.002, 2: 0.003})
    average_cost(b, cm, after)
    assert b.cost_model.latency_s == {1: pytest.approx(0.004), 2: pytest.approx(0.007)}
    assert b.cost_model.warm_latency_s == {1: pytest.approx(0.002), 2: pytest.approx(0.003)}
    assert b.cost_model.steady_latency_s == {1: pytest.approx(0.0015), 2: pytest.approx(0.0025)}


def test_readme_python_block_runs_as_written(teacher, tmp_path):
    """The README's "Use it from Python" block, with only its two paths pointed at the tiny run."""
    from parapolicy.scripts.video import count_frames

    root, ckpt, student_dir = teacher
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("### Use it from Python", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    code, n = re.subn(r'^CHECKPOINT = ".*"$', f"CHECKPOINT = {str(ckpt)!r}", block, flags=re.M)
    code, m = re.subn(r'^STUDENT = ".*"$', f"STUDENT = {str(student_dir)!r}", code, flags=re.M)
    assert n == m == 1, "the block must set CHECKPOINT and STUDENT on lines of their own"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=240,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    got = re.fullmatch(r"(True|False) (\{.*\}) ([0-9.e+-]+) (\d+)", last)
    assert got, last
    chosen = ast.literal_eval(got.group(2))
    assert chosen and set(chosen) <= {"ddpm100", "ddim10", "student1"} and float(got.group(3)) > 0
    assert count_frames(tmp_path / "fork_realtime.mp4") >= 2
