"""``parapolicy-cache``: lists the measurement caches the cost model and the convolution tuning wrote,
clears one kind or both, leaves other files alone, and rejects bad options with one line."""
from __future__ import annotations

import torch
from torch import nn

from cli_utils import assert_one_line_error, run_cli, run_clis
from parapolicy.planners.cost_model import CostModel
from parapolicy.policies.conv_tuning import tuned_bands
from parapolicy.policies.matmul_conv import swap_convs


def _fill(root) -> None:
    """One cost-model file and one band file under ``root``, written by the real code with fake timings."""
    net = nn.Sequential(nn.Conv1d(2, 8, 3, padding=1), nn.Conv1d(8, 8, 3, padding=1))
    swap_convs(net, band=tuned_bands(net, (torch.randn(1, 2, 16),), cache_dir=root, batches=(1, 2),
                                     timing=lambda conv, length, b: (1.0, 0.5 if conv.in_channels == 8 else 2.0)))
    CostModel.measure(lambda x, t, c: x, x_shape=(16, 2), cond_dim=4, batch_sizes=(1, 4), warmup=0, repeats=1,
                      timing_fn=lambda b: 1e-3 * b, cache_dir=root, fingerprint="synthetic")


def test_show_lists_what_each_cache_holds_and_clear_removes_only_the_kind_asked(tmp_path) -> None:
    root = tmp_path / "cache"
    _fill(root)
    (root / "conv_bands" / "notes.txt").write_text("mine")  # not parapolicy's: never listed or removed
    arg = f"cache_dir={root}"

    shown = run_cli("parapolicy-cache", arg, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr[-2000:]
    lines = shown.stdout.splitlines()
    bands = [line for line in lines if "conv_bands/" in line]
    costs = [line for line in lines if "cost_model/synthetic-" in line]
    assert len(bands) == 1 and "2 layer shapes, 1 computed as products at some batch sizes" in bands[0], shown.stdout
    assert len(costs) == 1 and "batch 1–4, batch-1 call 1.000 ms" in costs[0], shown.stdout
    assert "notes.txt" not in shown.stdout
    assert not (tmp_path / "runs").exists() and not (tmp_path / ".hydra").exists()  # writes no run folder

    cleared = run_cli("parapolicy-cache", arg, "action=clear", "what=bands", cwd=tmp_path)
    assert cleared.returncode == 0 and "removed 1 file(s)" in cleared.stdout, cleared.stderr[-2000:]
    assert [p.name for p in (root / "conv_bands").iterdir()] == ["notes.txt"]
    assert len(list((root / "cost_model").glob("*.json"))) == 1

    again = run_cli("parapolicy-cache", arg, "what=bands", cwd=tmp_path)
    assert again.returncode == 0 and again.stdout.startswith("no bands caches under"), again.stdout
    cleared = run_cli("parapolicy-cache", arg, "action=clear", cwd=tmp_path)
    assert "removed 1 file(s)" in cleared.stdout and not list((root / "cost_model").iterdir())


def test_a_damaged_file_is_shown_as_unreadable(tmp_path) -> None:
    folder = tmp_path / "conv_bands"
    folder.mkdir()
    (folder / "cpu0-t1-torchx.json").write_text("{not json")
    proc = run_cli("parapolicy-cache", f"cache_dir={tmp_path}", cwd=tmp_path)
    assert proc.returncode == 0 and "unreadable" in proc.stdout, proc.stdout + proc.stderr[-2000:]


def test_bad_options_are_one_line_errors(tmp_path) -> None:
    bad_action, bad_what = run_clis([("parapolicy-cache", ["action=reset"]), ("parapolicy-cache", ["what=bnds"])],
                                    cwd=tmp_path)
    assert_one_line_error(bad_action, "action must be one of show, clear", "reset")
    assert_one_line_error(bad_what, "what must be all, cost_model or bands", "bnds")
