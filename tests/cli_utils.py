"""Helpers for running the console scripts in subprocesses from tests."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def run_cli(name, *args, cwd, timeout=300):
    """Run console script ``name`` with Hydra overrides ``args`` in ``cwd``; returns the CompletedProcess."""
    exe = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert exe, f"console script {name} is not installed"
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl"), "OMP_NUM_THREADS": "1"}
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def assert_one_line_error(proc, *fragments):
    """The process failed as a user error: exit 2, no traceback, one ``error:`` line with ``fragments``."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    for frag in fragments:
        assert frag in lines[0], lines[0]
