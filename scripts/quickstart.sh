#!/usr/bin/env bash
# The README's main job on a fresh machine: set-up, then the end-to-end pipeline (parapolicy-quickstart).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/setup_env.sh
# one torch thread: on 2 cores the small networks here run faster (and steadier) single-threaded
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
parapolicy-quickstart "$@"
