"""Shared test set-up: headless MuJoCo rendering, and a throw-away measurement cache (cost models,
convolution bands) so the tests neither read nor fill the user's ``~/.cache/parapolicy``."""
import atexit
import os
import shutil
import tempfile

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("MUJOCO_GL", "egl")

if "PARAPOLICY_CACHE" not in os.environ:
    os.environ["PARAPOLICY_CACHE"] = tempfile.mkdtemp(prefix="parapolicy-tests-")
    atexit.register(shutil.rmtree, os.environ["PARAPOLICY_CACHE"], True)
