"""parapolicy-train / parapolicy-eval / parapolicy-record on a checkpoint, with tiny sizes, and their bad inputs."""
import json
import os

import pytest
import torch

from cli_utils import TINY_TRAIN, assert_one_line_error, run_cli, run_clis

TINY = [*TINY_TRAIN, "train.ckpt_every=2", "eval_episodes=2", "num_envs=2"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    data = root / "fork.hdf5"
    proc = run_cli("parapolicy-collect", "env=Fork-v0", "episodes=3", f"out={data}", "progress=false", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = root / "run"
    proc = run_cli("parapolicy-train", "env=Fork-v0", f"dataset={data}", f"out={out}", *TINY, cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root, data, out


def test_train_writes_checkpoint_and_summary(trained):
    root, data, out = trained
    assert (out / "checkpoint" / "model.safetensors").is_file()
    assert (out / "checkpoints" / "latest").is_dir()
    assert list((out / "tb").iterdir())  # TensorBoard scalars
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["step"] == 4 and "success_rate" in summary["eval"]


def test_eval_json_and_record(trained):
    root, data, out = trained
    report = root / "eval.json"
    proc = run_cli("parapolicy-eval", f"checkpoint={out / 'checkpoint'}", "episodes=3", "num_envs=2",
                   "sampler=ddim", "steps=3", f"out={report}", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rep = json.loads(report.read_text())
    assert rep["summary"]["episodes"] == 3 and len(rep["episodes"]) == 3
    assert rep["device"] == "cpu"  # the default
    lat = rep["latency_per_chunk"]
    assert lat["count"] > 0 and lat["p99_ms"] >= lat["p50_ms"]
    assert rep["provenance"]["git_commit"] and len(rep["summary"]["success_ci95"]) == 2
    # the report carries how the checkpoint was trained, so the results table needs no runs/ later
    assert rep["training"]["step"] == 4 and rep["training"]["demos"] == 3
    assert rep["training"]["run"]["step"] == 4 and rep["training"]["run"]["total_wall_s"] > 0
    vids = root / "vids"
    proc = run_cli("parapolicy-record", "env=Fork-v0", f"checkpoint={out / 'checkpoint'}", "episodes=1",
                   f"out_dir={vids}", "width=64", "height=64", "max_steps=10", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(list(vids.glob("*.mp4"))) == 1


def test_eval_action_horizon_override(trained):
    """``action_horizon=2`` predicts a chunk every 2 steps instead of every Ta=8, for the chunked policy and
    the real-time planner; out of range is one line."""
    root, data, out = trained
    counts = {}
    for ta in (None, 2):
        report = root / f"eval_ta{ta}.json"
        extra = [] if ta is None else [f"action_horizon={ta}"]
        proc = run_cli("parapolicy-eval", f"checkpoint={out / 'checkpoint'}", "episodes=1", "num_envs=1",
                       "sampler=ddim", "steps=2", f"out={report}", *extra, cwd=root)
        assert proc.returncode == 0, proc.stderr[-3000:]
        rep = json.loads(report.read_text())
        assert rep["action_horizon"] == (8 if ta is None else 2) and rep["jit"] is False  # auto: eager when chunked
        steps = rep["episodes"][0]["steps"]
        counts[ta] = (rep["latency_per_chunk"]["count"], steps)
    (n8, s8), (n2, s2) = counts[None], counts[2]
    assert n8 == -(-s8 // 8) and n2 == -(-s2 // 2)
    assert_one_line_error(run_cli("parapolicy-eval", f"checkpoint={out / 'checkpoint'}", "action_horizon=16",
                                  cwd=root), "action_horizon must be in [1, 15]")
    # the synchronous real-time planner replans every action_horizon actions as well (traced: jit=auto)
    report = root / "eval_rt_ta2.json"
    proc = run_cli("parapolicy-eval", f"checkpoint={out / 'checkpoint'}", "episodes=1", "num_envs=1",
                   "planner=realtime", "budget_ms=5000", "menu=[ddim2]", "action_horizon=2", f"out={report}", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rep = json.loads(report.read_text())
    assert rep["planner"]["replans"] == -(-rep["episodes"][0]["steps"] // 2) and rep["jit"] is True


def test_eval_temperature(trained):
    """``temperature=0.5`` is recorded in the JSON; a bad value or a planner other than chunked is one line."""
    root, data, out = trained
    report = root / "eval_temp.json"
    proc = run_cli("parapolicy-eval", f"checkpoint={out / 'checkpoint'}", "episodes=1", "num_envs=1",
                   "sampler=ddim", "steps=2", "temperature=0.5", f"out={report}", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(report.read_text())["temperature"] == 0.5
    assert_one_line_error(run_cli("parapolicy-eval", f"checkpoint={out / 'checkpoint'}", "temperature=0",
                                  cwd=root), "temperature must be a number > 0, got 0")
    assert_one_line_error(run_cli("parapolicy-eval", f"checkpoint={out / 'checkpoint'}", "temperature=0.5",
                                  "planner=realtime", "budget_ms=50", cwd=root),
                          "temperature= applies to planner=chunked")


def test_eval_delay_settings_need_the_async_planner(trained):
    """``delay=`` / ``max_delay=`` / ``lead=`` mean nothing to a synchronous planner: one line each, as are bad
    values."""
    root, data, out = trained
    ckpt = f"checkpoint={out / 'checkpoint'}"
    assert_one_line_error(run_cli("parapolicy-eval", ckpt, "max_delay=1", cwd=root),
                          "max_delay= applies to planner=async (planner=chunked")
    assert_one_line_error(run_cli("parapolicy-eval", ckpt, "delay=2", "planner=realtime", "budget_ms=50", cwd=root),
                          "delay= applies to planner=async (planner=realtime")
    assert_one_line_error(run_cli("parapolicy-eval", ckpt, "planner=async", "num_envs=1", "max_delay=0", cwd=root),
                          "max_delay must be None or an integer >= 1")
    assert_one_line_error(run_cli("parapolicy-eval", ckpt, "lead=true", cwd=root),
                          "lead=true applies to planner=async (planner=chunked")


def test_resume_continues_from_latest(trained):
    root, data, out = trained
    proc = run_cli("parapolicy-train", "env=Fork-v0", f"dataset={data}", f"out={out}", *TINY_TRAIN,
                   "train.steps=6", "train.ckpt_every=2", "eval_episodes=0", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["resumed_from"] == 4 and summary["step"] == 6


def test_bad_inputs_are_one_line(trained, tmp_path):
    root, data, out = trained
    ckpt = out / "checkpoint"
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in ckpt.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    cases = [
        ("parapolicy-eval", [f"checkpoint={ckpt}", "env=PushT-v0"], "trained on"),
        ("parapolicy-eval", ["checkpoint=/no/such/ckpt"], "not found"),
        ("parapolicy-eval", [f"checkpoint={broken}"], "truncated"),
        ("parapolicy-train", [f"dataset={data}", "policy.denoiser=lstm"], "denoiser"),
        ("parapolicy-train", [f"dataset={data}", "policy.pred_horizon=160", "policy.down_dims=[16,32]",
                              "policy.n_groups=4"], ""),
        ("parapolicy-train", ["dataset=/no/such.hdf5"], "such.hdf5"),
        ("parapolicy-train", ["env=PushTKeypoints-v0", f"dataset={data}"],
         "collected on parapolicy/Fork-v0, not parapolicy/PushTKeypoints-v0"),
    ]
    procs = run_clis([(name, args) for name, args, _ in cases], cwd=tmp_path)
    for proc, (_, _, fragment) in zip(procs, cases):
        assert_one_line_error(proc, fragment)


def test_train_and_distill_on_two_demo_files(trained, tmp_path):
    root, data, _ = trained
    more = tmp_path / "more.hdf5"
    proc = run_cli("parapolicy-collect", "env=Fork-v0", "episodes=2", "seed=3", f"out={more}", "progress=false",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "two"
    proc = run_cli("parapolicy-train", "env=Fork-v0", f"dataset=[{data},{more}]", f"out={out}", *TINY_TRAIN,
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "on 5 demos" in proc.stdout
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["dataset"] == [str(data), str(more)] and summary["demos"] == 5
    # the student is distilled on the teacher's two files, found through its train_summary.json
    proc = run_cli("parapolicy-distill", f"checkpoint={out / 'checkpoint'}", "steps=2", "student_steps=1",
                   "bank_size=16", "batch_size=8", "heldout_samples=4", "progress=false", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = json.loads((out / "student1" / "config.json").read_text())
    assert meta["extra"]["distill"]["dataset"] == [str(data), str(more)]
    assert_one_line_error(run_cli("parapolicy-train", f"dataset=[{data},{data}]", cwd=tmp_path), "twice")
    assert_one_line_error(run_cli("parapolicy-train", "dataset=[]", cwd=tmp_path), "empty list")
    same = os.path.relpath(data, tmp_path)  # the same file, spelled another way
    assert_one_line_error(run_cli("parapolicy-train", f"dataset=[{data},{same}]", cwd=tmp_path), "twice")


def test_keypoint_task_trains_on_the_packaged_state_demos(tmp_path):
    out = tmp_path / "kp"
    proc = run_cli("parapolicy-train", "env=PushTKeypoints-v0", f"out={out}", *TINY_TRAIN, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    config = json.loads((out / "checkpoint" / "config.json").read_text())
    assert config["obs_dim"] == 18 and config["env_id"] == "parapolicy/PushTKeypoints-v0"


def test_eval_with_planners(trained):
    root, data, out = trained
    ckpt = out / "checkpoint"
    report = root / "rt.json"
    proc = run_cli("parapolicy-eval", f"checkpoint={ckpt}", "episodes=2", "num_envs=2", "planner=realtime",
                   "budget_ms=5000", "menu=[ddpm20,ddim3]", f"out={report}", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rep = json.loads(report.read_text())
    assert rep["planner"]["kind"] == "realtime" and rep["planner"]["replans"] > 0
    assert set(rep["planner"]["chosen"]) <= {"ddpm20", "ddim3"}
    report = root / "async.json"
    proc = run_cli("parapolicy-eval", f"checkpoint={ckpt}", "episodes=1", "num_envs=1", "planner=async",
                   "delay=2", "rtc_mode=frozen", "menu=[ddim3]", f"out={report}", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(report.read_text())["planner"]["inferences"] > 0


def test_eval_stops_the_wall_clock_worker(trained, monkeypatch):
    """A worker thread still running torch at interpreter exit aborts the process (exit 134)."""
    import threading

    from parapolicy.scripts.eval import EvalConfig, evaluate_checkpoint

    root, data, out = trained
    monkeypatch.setenv("MUJOCO_GL", os.environ.get("MUJOCO_GL", "egl"))
    report = root / "async_wall.json"
    rep = evaluate_checkpoint(EvalConfig(checkpoint=str(out / "checkpoint"), episodes=1, num_envs=1,
                                         planner="async", control_hz=50.0, menu=["ddim3"], out=str(report)))
    assert rep["planner"]["timing"] == "wall" and rep["planner"]["inferences"] > 0
    assert not [t for t in threading.enumerate() if t.name == "parapolicy-async-planner" and t.is_alive()]


@pytest.mark.parametrize("args,fragment", [
    (["planner=realtime", "budget_ms=-5"], "budget"),
    (["planner=realtime", "budget_ms=nan"], "budget"),
    (["planner=warp"], "planner"),
    (["menu=[ddim3]"], "menu= applies to planner=realtime and planner=async"),
    (["planner=realtime", "menu=[picard-ddpm100-p0]"], "window"),
    (["planner=realtime", "menu=[euler7]"], "euler7"),
    (["planner=async", "num_envs=1", "delay=20"], "delay"),
    (["device=tpu"], "unknown device 'tpu'"),
    *([] if torch.cuda.is_available() else
      [(["planner=realtime", "device=cuda"], "device 'cuda' requested but CUDA is not available")]),
])
def test_planner_bad_inputs(trained, tmp_path, args, fragment):
    root, data, out = trained
    assert_one_line_error(run_cli("parapolicy-eval", f"checkpoint={out / 'checkpoint'}", "episodes=1", *args,
                                  cwd=tmp_path), fragment)


def test_quickstart_pipeline_tiny(tmp_path):
    proc = run_cli("parapolicy-quickstart", "demos=4", "train_steps=3", "distill_steps=3", "eval_episodes=2",
                   "budget_ms=500", cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for stage in ("[1/5]", "[2/5]", "[3/5]", "[4/5]", "[5/5]", "chosen samplers"):
        assert stage in proc.stdout
    summary = json.loads(next((tmp_path / "runs" / "quickstart").glob("*/quickstart.json")).read_text())
    assert summary["planner"]["replans"] > 0 and summary["videos"]
    assert (tmp_path / summary["videos"][0]).is_file()


def test_forecast_cli_then_eval_with_it(trained):
    """parapolicy-forecast writes a forecaster that beats the stale observation on held-out demos, and
    the asynchronous evaluation plans from its forecasts; bad inputs are one line."""
    root, data, out = trained
    ckpt, fc = out / "checkpoint", root / "forecaster"
    proc = run_cli("parapolicy-forecast", f"checkpoint={ckpt}", f"dataset={data}", "max_delay=3", "steps=1500",
                   "hidden=64", "rollouts=2", "rollout_sampler=ddim", "rollout_steps=3", f"out={fc}", "progress=false",
                   cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = json.loads((fc / "forecaster.json").read_text())
    assert meta["config"]["max_delay"] == 3 and meta["config"]["env_id"] == "parapolicy/Fork-v0"
    held = meta["summary"]["heldout"]
    assert [r["k"] for r in held] == [1, 2, 3] and "k=3: held-out RMSE" in proc.stdout
    assert [r["k"] for r in meta["summary"]["heldout_rollouts"]] == [1, 2, 3]  # one of the 2 rollouts held out
    assert 0 <= meta["summary"]["rollout_success"] <= 1 and "windows of rollouts" in proc.stdout
    assert all(r["forecast_rmse"] > 0 and r["stale_rmse"] > 0 for r in held)  # quality: tests/planners/test_forecast.py
    report = root / "async_fc.json"
    proc = run_cli("parapolicy-eval", f"checkpoint={ckpt}", "episodes=1", "num_envs=1", "planner=async", "delay=3",
                   "lead=true", f"forecaster={fc}", "menu=[ddim3]", f"out={report}", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    planner = json.loads(report.read_text())["planner"]
    assert planner["forecast"] is True and planner["lead"] is True and planner["inferences"] > 0
    assert_one_line_error(run_cli("parapolicy-forecast", f"checkpoint={ckpt}", f"dataset={data}", f"out={fc}",
                                  cwd=root), "already exists")
    assert_one_line_error(run_cli("parapolicy-forecast", f"checkpoint={ckpt}", "max_delay=0", cwd=root),
                          "max_delay must be an integer >= 1")
    assert_one_line_error(run_cli("parapolicy-forecast", f"checkpoint={ckpt}", "rollouts=-1", cwd=root),
                          "rollouts must be an integer >= 0")
    assert_one_line_error(run_cli("parapolicy-eval", f"checkpoint={ckpt}", f"forecaster={fc}", cwd=root),
                          "forecaster= applies to planner=async")
    assert_one_line_error(run_cli("parapolicy-eval", f"checkpoint={ckpt}", "planner=async", "num_envs=1",
                                  f"forecaster={root}", cwd=root), "not a forecaster directory")
