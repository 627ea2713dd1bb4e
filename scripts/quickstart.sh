#!/usr/bin/env bash
# The README's main job on a fresh machine: set-up, then the end-to-end pipeline (parapolicy-quickstart).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/setup_env.sh
parapolicy-quickstart "$@"
