#!/usr/bin/env bash
# Create .venv-mace: scripts/setup.sh (torch first) with the MACE and test extras, no SevenNet.
#
# mace-torch pins e3nn==0.4.4 while sevenn needs e3nn>=0.5, so MACE lives in its own
# environment (git-ignored). The environment variables of scripts/setup.sh apply (PYTHON,
# IONFLOW_TORCH_VERSION, IONFLOW_TORCH_INDEX_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-mace
IONFLOW_VENV=$VENV IONFLOW_EXTRAS=mace,test bash scripts/setup.sh
if "$VENV/bin/python" -c "import sevenn" 2>/dev/null; then
    echo "setup_mace: sevenn is installed in $VENV; it must not be (e3nn pins)" >&2
    exit 1
fi
