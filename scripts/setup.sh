#!/usr/bin/env bash
# Create .venv with the CPU build of torch first (an unpinned torch pulls a multi-GB CUDA
# build), then ionflow and the extras named in $IONFLOW_EXTRAS.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==${IONFLOW_TORCH_VERSION:-2.13.0}"
.venv/bin/python -m pip install -q -e ".${IONFLOW_EXTRAS:+[$IONFLOW_EXTRAS]}"
