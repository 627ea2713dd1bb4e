"""Helpers for running the console scripts in subprocesses from tests."""
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BIN = Path(sys.executable).parent


def run_cli(name, *args, cwd, timeout=300):
    """Run console script ``name`` with Hydra overrides ``args`` in ``cwd``; returns the CompletedProcess."""
    exe = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert exe, f"console script {name} is not installed"
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl"), "OMP_NUM_THREADS": "1"}
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def run_clis(calls, *, cwd, timeout=300, workers=2):
    """Run each ``(console script, overrides)`` pair of ``calls``, ``workers`` processes at a time.

    Returns the CompletedProcesses in the order of ``calls``. Each run is its own process, so a sweep
    of independent bad-input checks takes about half the wall time on two cores.
    """
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda call: run_cli(call[0], *call[1], cwd=cwd, timeout=timeout), calls))


def assert_one_line_error(proc, *fragments):
    """The process failed as a user error: exit 2, no traceback, one ``error:`` line with ``fragments``."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    for frag in fragments:
        assert frag in lines[0], lines[0]


#: overrides that make parapolicy-train finish in seconds (a ~20 k-parameter U-Net, 4 steps)
TINY_TRAIN = ["policy.down_dims=[16,32]", "policy.n_groups=4", "policy.step_embed_dim=16", "train.steps=4",
              "train.batch_size=16", "train.warmup_steps=1", "train.log_every=2", "train.eval_every=0",
              "progress=false"]
