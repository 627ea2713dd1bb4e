"""Console scripts smoke-tested in subprocesses with tiny sizes, plus their user-error behaviour."""
import json
import re

import numpy as np
import pytest

from cli_utils import assert_one_line_error, run_cli


def test_collect_then_record(tmp_path):
    out = tmp_path / "fork.hdf5"
    proc = run_cli("parapolicy-collect", "env=Fork-v0", "episodes=3", f"out={out}", "progress=false", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert out.is_file() and "expert success" in proc.stdout
    assert (tmp_path / "runs").is_dir()  # Hydra's logs go under runs/

    from parapolicy.envs.demos import load_demos

    demos = load_demos(out)
    assert len(demos.episodes) >= 1 and demos.attrs["env_id"] == "parapolicy/Fork-v0"

    before = out.read_bytes()
    again = run_cli("parapolicy-collect", "env=Fork-v0", "episodes=1", f"out={out}", cwd=tmp_path)
    assert_one_line_error(again, "exists")
    assert out.read_bytes() == before

    vids = tmp_path / "vids"
    rec = run_cli("parapolicy-record", "env=Fork-v0", "policy=expert", "episodes=1", f"out_dir={vids}",
                  "width=64", "height=64", "gif=true", cwd=tmp_path)
    assert rec.returncode == 0, rec.stderr[-3000:]
    mp4s, gifs = list(vids.glob("*.mp4")), list(vids.glob("*.gif"))
    assert demos.attrs["action_noise"] == 0.0
    assert len(mp4s) == 1 and len(gifs) == 1

    from parapolicy.scripts.video import count_frames

    steps = int(re.search(r"seed 0: (\d+) steps", rec.stdout).group(1))
    assert count_frames(mp4s[0]) == steps + 1  # the reset frame plus one per step


def test_collect_with_dart_noise_records_the_scale(tmp_path):
    out = tmp_path / "noisy.hdf5"
    proc = run_cli("parapolicy-collect", "env=Fork-v0", "episodes=3", "action_noise=0.1", f"out={out}",
                   "progress=false", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    from parapolicy.envs.demos import load_demos

    noisy = load_demos(out)
    assert noisy.attrs["action_noise"] == 0.1
    clean_out = tmp_path / "clean.hdf5"
    assert run_cli("parapolicy-collect", "env=Fork-v0", "episodes=3", f"out={clean_out}", "progress=false",
                   cwd=tmp_path).returncode == 0
    clean = load_demos(clean_out)
    # same seeds, same expert: the perturbed execution visits other states
    assert not np.allclose(noisy.episodes[0].obs[1:20], clean.episodes[0].obs[1:20])


def test_expert_train_resume_and_collect(tmp_path):
    model = tmp_path / "reacher" / "model.zip"
    common = ["env=Reacher-v5", "algo=sac", "eval_episodes=1", "+hyperparams.learning_starts=50"]
    proc = run_cli("parapolicy-expert", *common, "timesteps=120", f"out={model}", cwd=tmp_path)  # progress bar on
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = json.loads(model.with_suffix(".json").read_text())
    assert info["num_timesteps_total"] >= 120 and "eval_mean_return" in info

    model2 = tmp_path / "reacher2" / "model.zip"
    proc = run_cli("parapolicy-expert", *common, "timesteps=60", f"resume={model}", f"out={model2}", "progress=false",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    info2 = json.loads(model2.with_suffix(".json").read_text())
    assert info2["num_timesteps_total"] >= info["num_timesteps_total"] + 60  # continued, not restarted

    out = tmp_path / "reacher.hdf5"
    proc = run_cli("parapolicy-collect", "env=Reacher-v5", f"expert={model2}", "episodes=2", f"out={out}",
                   "progress=false", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    from parapolicy.envs.demos import load_demos

    assert len(load_demos(out).episodes) == 2  # tasks without is_success keep every episode


@pytest.mark.parametrize(
    "script,args,fragment",
    [
        ("parapolicy-collect", ["env.id=Nope-v3"], "known ids"),
        ("parapolicy-collect", ["episodes=0"], "episodes"),
        ("parapolicy-collect", ["action_noise=1.5"], "action_noise"),
        ("parapolicy-record", ["width=63"], "even"),
        ("parapolicy-record", ["checkpoint=/no/such/checkpoint"], "does not exist"),
        ("parapolicy-record", ["policy=diffusion"], "needs checkpoint"),
        ("parapolicy-expert", ["algo=dqn2"], "algo"),
        ("parapolicy-expert", ["resume=/no/such/model.zip"], "no saved model"),
        # overrides Hydra cannot apply: one line too, not Hydra's multi-line report
        ("parapolicy-eval", ["checkpoint=x", "jit=maybe"], "jit must be true, false or auto, got 'maybe'"),
        ("parapolicy-eval", ["checkpoint=x", "num_envs=two"],
         "Error merging override num_envs=two: Value 'two' of type 'str' could not be converted to Integer"),
        ("parapolicy-bench", ["checkpoint=x", "no_such_key=1"],
         "Could not override 'no_such_key': Key 'no_such_key' not in"),
        ("parapolicy-collect", ["episodes=[3"], "bad override 'episodes=[3': no viable alternative"),
    ],
)
def test_user_errors_are_one_line(tmp_path, script, args, fragment):
    assert_one_line_error(run_cli(script, *args, cwd=tmp_path), fragment)


def test_provenance_commit_can_be_named(monkeypatch):
    """A tree copied to another machine (a GPU lease) may carry no or a stale .git: the commit named in
    $PARAPOLICY_GIT_COMMIT is recorded instead, with its changes unknown."""
    from parapolicy.scripts import common

    common.git_state.cache_clear()
    try:
        monkeypatch.setenv("PARAPOLICY_GIT_COMMIT", "10deef162b")
        assert common.git_state() == ("10deef162b", None)
        assert common.provenance({})["git_commit"] == "10deef162b"
        common.git_state.cache_clear()
        monkeypatch.delenv("PARAPOLICY_GIT_COMMIT")
        commit, _ = common.git_state()
        assert commit == "unknown" or re.fullmatch(r"[0-9a-f]{40}", commit)
    finally:
        common.git_state.cache_clear()


def test_tables_mark_runs_from_uncommitted_code():
    """A footnote names a run's commit, marked +dirty when the tree had uncommitted changes."""
    from parapolicy.scripts.bench_report import commit_label

    sha = "8d9d2b299d393e42979e0d622895dc2c85e09a2c"
    assert commit_label({"git_commit": sha, "git_dirty": True}) == "8d9d2b299d+dirty"
    assert commit_label({"git_commit": sha, "git_dirty": False}) == "8d9d2b299d"
    assert commit_label({"git_commit": "10deef162b", "git_dirty": None}) == "10deef162b"  # changes unknown
