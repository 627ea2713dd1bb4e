"""Benchmark report helpers: table formatting and README splicing."""
import json

from parapolicy.scripts.report import fmt, markdown_table, save_report, splice_readme


def test_markdown_table_and_fmt():
    table = markdown_table([{"a": 0.123456, "b": None, "c": [0.5, 0.75]}], [("a", "A"), ("b", "B"), ("c", "C")])
    lines = table.splitlines()
    assert lines[0] == "| A | B | C |" and lines[2] == "| 0.123 | – | 0.50–0.75 |"
    assert fmt(float("nan")) == "–" and fmt(True) == "yes" and fmt(123456.7) == "123457"


def test_splice_readme_replaces_only_the_marked_section(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- bench:x -->\nold\n<!-- /bench:x -->\noutro\n")
    assert splice_readme(readme, "x", "| new |")
    assert readme.read_text() == "intro\n<!-- bench:x -->\n| new |\n<!-- /bench:x -->\noutro\n"
    assert not splice_readme(readme, "missing", "zzz")
    assert "zzz" not in readme.read_text()


def test_save_report_writes_json_and_md(tmp_path):
    js, md = save_report(tmp_path / "out", "bench", {"rows": [1]}, "| t |")
    assert js.read_text().strip().startswith("{") and md.read_text() == "| t |\n"


def test_results_table_from_eval_json(tmp_path):
    import json

    from parapolicy.scripts.results_table import main

    rep = {"env_id": "parapolicy/Fork-v0", "policy": {"kind": "diffusion", "denoiser": "unet", "objective": "ddpm"},
           "sampler": "ddim", "steps": 10, "checkpoint": str(tmp_path / "ckpt"),
           "summary": {"episodes": 10, "mean_return": 2.0, "success_rate": 0.9, "success_ci95": [0.6, 0.98],
                       "routes_of_successes": {"left": 4, "right": 5}},
           "latency_per_chunk": {"p50_ms": 3.0, "p99_ms": 5.0, "batch": 1}}
    f = tmp_path / "e.json"
    f.write_text(json.dumps(rep))
    readme = tmp_path / "README.md"
    readme.write_text("<!-- results:policies -->\n<!-- /results:policies -->\n")
    assert main([str(f), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert "0.90 (0.60–0.98)" in text and "left 4, right 5" in text and "3.0 / 5.0 (1)" in text
    assert main([str(tmp_path / "missing.json")]) == 2


def test_results_table_marks_an_action_horizon_override():
    from parapolicy.scripts.results_table import _ta_note

    rep = {"policy": {"action_horizon": 8}, "action_horizon": 4}
    assert _ta_note(rep) == " Ta=4"
    assert _ta_note({**rep, "action_horizon": 8}) == ""
    assert _ta_note({"policy": {"action_horizon": 8}}) == ""  # JSON from before the override existed
    assert _ta_note({**rep, "temperature": 0.8}) == " Ta=4 T=0.8"
    assert _ta_note({**rep, "action_horizon": 8, "temperature": 1.0}) == ""


def test_training_note_matches_the_checkpoints_own_step(tmp_path):
    import json

    from parapolicy.scripts.results_table import training_note

    run = tmp_path / "run"
    for name, step in (("checkpoint", 300), ("step100", 100)):
        (run / name).mkdir(parents=True)
        (run / name / "config.json").write_text(json.dumps({"extra": {"step": step}}))
    assert training_note(run / "checkpoint") == "300 steps"  # no run summary yet
    (run / "train_summary.json").write_text(json.dumps({"step": 300, "wall_s": 120.0, "steps_per_s": 2.5}))
    assert training_note(run / "checkpoint") == "300 steps, 2.0 min (2.5/s)"
    assert training_note(run / "step100") == "100 steps (of a 300-step run)"
    assert training_note(tmp_path / "nowhere") is None


def test_training_note_of_resumed_runs_and_embedded_records(tmp_path):
    import json

    from parapolicy.scripts.results_table import note_from_record, row_of

    run = {"step": 200, "wall_s": 60.0, "steps_per_s": 2.0, "resumed_from": 100, "total_wall_s": 180.0,
           "resumed_config_changes": []}
    rec = {"step": 200, "run": run, "demos": 5}
    assert note_from_record(rec) == "200 steps, 3.0 min (2.0/s)"  # killed and resumed: the whole run's time
    run["resumed_config_changes"] = ["steps"]
    assert note_from_record(rec) == "200 steps, 3.0 min in all (resumed at 100 with steps changed)"
    run["total_wall_s"] = None  # the first part predates the recorded wall time
    assert note_from_record(rec) == "200 steps (resumed at 100 with steps changed; 1.0 min after it at 2.0/s)"
    assert note_from_record({"note": "as written", "demos": 3}) == "as written"
    assert note_from_record(None) is None
    # a report that carries its record needs no checkpoint on disk
    rep = {"env_id": "parapolicy/Fork-v0", "checkpoint": str(tmp_path / "gone"), "sampler": None,
           "policy": {"kind": "mse", "denoiser": "unet", "action_horizon": 8},
           "summary": {"episodes": 2, "mean_return": 1.0, "success_rate": 0.5, "success_ci95": [0.1, 0.9]},
           "latency_per_chunk": {"p50_ms": 1.0, "p99_ms": 2.0, "batch": 1}, "training": rec}
    (tmp_path / "r.json").write_text(json.dumps(rep))
    row = row_of(tmp_path / "r.json")
    assert row["demos"] == 5 and row["train"].startswith("200 steps (resumed at 100")


def test_demo_count_from_the_summary_or_its_dataset(tmp_path):
    import json

    import numpy as np

    from parapolicy.envs.demos import Episode, write_demos
    from parapolicy.scripts.results_table import demo_count

    run = tmp_path / "run"
    (run / "checkpoint").mkdir(parents=True)
    assert demo_count(run / "checkpoint") is None  # no summary
    eps = [Episode(np.zeros((5, 2)), np.zeros((5, 1)), np.zeros(5), np.zeros(5), True, i) for i in range(3)]
    data = write_demos(tmp_path / "d.hdf5", eps, env_id="parapolicy/Fork-v0", env_kwargs={}, expert="x", seed=0)
    (run / "train_summary.json").write_text(json.dumps({"step": 1, "dataset": str(data)}))
    assert demo_count(run / "checkpoint") == 3  # counted in the file the summary names
    more = write_demos(tmp_path / "e.hdf5", eps[:2], env_id="parapolicy/Fork-v0", env_kwargs={}, expert="x", seed=0)
    (run / "train_summary.json").write_text(json.dumps({"step": 1, "dataset": [str(data), str(more)]}))
    assert demo_count(run / "checkpoint") == 5  # a list of files: summed
    (run / "train_summary.json").write_text(json.dumps({"step": 1, "dataset": [str(data), str(data)]}))
    assert demo_count(run / "checkpoint") is None  # a list no run could have trained on
    (run / "train_summary.json").write_text(json.dumps({"step": 1, "dataset": str(data), "demos": 7}))
    assert demo_count(run / "checkpoint") == 7  # recorded by parapolicy-train
    (run / "train_summary.json").write_text(json.dumps({"step": 1, "dataset": str(tmp_path / "gone.hdf5")}))
    assert demo_count(run / "checkpoint") is None


def test_training_record_carries_a_students_distillation(tmp_path):
    from parapolicy.scripts.results_table import training_record

    ckpt = tmp_path / "student2_op"
    ckpt.mkdir()
    summary = {"bank_size": 300, "init_student": "runs/x/student2", "seconds": 12.5,
               "onpolicy": [{"round": 1}, {"round": 2}], "config": {"steps": 0, "onpolicy_episodes": 50}}
    (ckpt / "config.json").write_text(json.dumps({"extra": {"distill": summary}}))
    rec = training_record(ckpt)["distill"]
    assert rec == {"steps": 0, "bank_size": 300, "onpolicy_rounds": 2, "onpolicy_episodes": 50,
                   "init_student": "runs/x/student2", "seconds": 12.5}
    (ckpt / "config.json").write_text(json.dumps({"extra": {}}))
    assert training_record(ckpt) is None  # nothing known: no step, no run, no distillation


def test_results_table_labels_a_distilled_student(tmp_path):
    from parapolicy.scripts.results_table import row_of

    rep = {"env_id": "parapolicy/PushTKeypoints-v0", "checkpoint": str(tmp_path / "student2"),
           "policy": {"kind": "diffusion", "denoiser": "unet", "objective": "flow", "action_horizon": 8,
                      "inference_steps": 2, "teacher": "/runs/teacher/checkpoint"},
           "sampler": "flow", "steps": 2, "action_horizon": 3, "temperature": 0.8,
           "summary": {"episodes": 10, "mean_return": 1.0, "success_rate": 0.5, "success_ci95": [0.2, 0.8]},
           "latency_per_chunk": {"p50_ms": 1.0, "p99_ms": 2.0, "batch": 8},
           "training": {"note": "20000 steps, 48.0 min (6.9/s)"}}
    f = tmp_path / "s.json"
    f.write_text(json.dumps(rep))
    row = row_of(f)
    assert row["policy"] == "diffusion unet flow, 2-step student" and row["sampler"] == "student-2 Ta=3 T=0.8"
    assert row["train"] == "teacher: 20000 steps, 48.0 min (6.9/s)"
    onpolicy = {**rep, "training": {**rep["training"], "distill": {
        "steps": 0, "bank_size": 44390, "onpolicy_rounds": 4, "onpolicy_episodes": 100,
        "init_student": "runs/pusht_kp_dart/student2_t0.8", "seconds": 1945.0}}}
    f.write_text(json.dumps(onpolicy))
    row = row_of(f)
    assert row["policy"] == ("diffusion unet flow, 2-step student (on-policy: 4 rounds × 100 rollouts, "
                             "from student2_t0.8)")
    teacher = {**rep, "policy": {**rep["policy"], "teacher": None, "inference_steps": 100}}
    f.write_text(json.dumps(teacher))
    row = row_of(f)
    assert row["policy"] == "diffusion unet flow" and row["sampler"] == "flow-2 Ta=3 T=0.8"
    assert not row["train"].startswith("teacher")
