"""Shared test set-up: headless MuJoCo rendering and small torch thread counts."""
import os

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("MUJOCO_GL", "egl")
