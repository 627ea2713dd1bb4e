#!/usr/bin/env bash
# Set-up shared by the quick start and CI: a venv in .venv with the CPU build of torch installed first
# (a plain `torch` requirement would pull a multi-GB CUDA build), then parapolicy with its dev extra.
# Source it: `. scripts/setup_env.sh`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
python -m pip install --quiet "torch==2.13.0" || python -m pip install --quiet torch --index-url https://download.pytorch.org/whl/cpu
python -m pip install --quiet setuptools wheel
python -m pip install --quiet -e ".[dev]"
if [ -z "${DISPLAY:-}" ]; then export MUJOCO_GL="${MUJOCO_GL:-egl}"; fi
