#!/usr/bin/env bash
# Set up and run the main job: a CHGNet hop screen of LiFePO4 on the embedded default store.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ionflow screen workflows/structures/LiFePO4.cif "$@"
