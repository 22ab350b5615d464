#!/usr/bin/env bash
# Create .venv-mace: torch first (as scripts/setup.sh does), then ionflow with the MACE and
# test extras, without SevenNet.
#
# mace-torch pins e3nn==0.4.4 while sevenn needs e3nn>=0.5, so MACE lives in its own
# environment (git-ignored). The same environment variables as scripts/setup.sh apply:
#
#   PYTHON                   interpreter that creates .venv-mace (default: python3)
#   IONFLOW_TORCH_VERSION    torch version (default: 2.13.0)
#   IONFLOW_TORCH_INDEX_URL  wheel index torch is installed from (default: a local wheel of
#                            that version if pip finds one, else PyTorch's CPU index on Linux
#                            x86_64, else PyPI)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=.venv-mace
TORCH="torch==${IONFLOW_TORCH_VERSION:-2.13.0}"
CPU_INDEX=https://download.pytorch.org/whl/cpu

if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
pip_install() { "$VENV/bin/python" -m pip install -q "$@"; }
pip_install --upgrade pip

if [ -n "${IONFLOW_TORCH_INDEX_URL:-}" ]; then
    echo "setup_mace: $TORCH from $IONFLOW_TORCH_INDEX_URL" >&2
    pip_install --index-url "$IONFLOW_TORCH_INDEX_URL" "$TORCH"
elif pip_install --no-index --no-deps "$TORCH" 2>/dev/null; then
    echo "setup_mace: $TORCH already installed or from a local wheel" >&2
    pip_install "$TORCH"  # its dependencies, from the usual indexes
elif [ "$(uname -s)" = Linux ] && [ "$(uname -m)" = x86_64 ]; then
    echo "setup_mace: $TORCH, CPU build, from $CPU_INDEX" >&2
    pip_install --index-url "$CPU_INDEX" "$TORCH"
else
    echo "setup_mace: $TORCH from PyPI" >&2
    pip_install "$TORCH"
fi

"$VENV/bin/python" -m pip install -q -e ".[mace,test]"
if "$VENV/bin/python" -c "import sevenn" 2>/dev/null; then
    echo "setup_mace: sevenn is installed in $VENV; it must not be (e3nn pins)" >&2
    exit 1
fi
