#!/usr/bin/env bash
# Create .venv with torch first, then ionflow and the extras named in $IONFLOW_EXTRAS.
#
# torch comes first because an unpinned one pulls PyPI's default Linux x86_64 wheel, a
# multi-GB CUDA build. Environment variables:
#
#   PYTHON                   interpreter that creates .venv (default: python3)
#   IONFLOW_TORCH_VERSION    torch version (default: 2.13.0)
#   IONFLOW_TORCH_INDEX_URL  wheel index torch is installed from, e.g.
#                            https://download.pytorch.org/whl/cu126 for a CUDA 12.6 build.
#                            Unset: a torch wheel of that version in pip's local find-links
#                            (PIP_FIND_LINKS, pip.conf) is used if there is one; otherwise, on
#                            Linux x86_64, PyTorch's CPU index
#                            https://download.pytorch.org/whl/cpu; elsewhere PyPI, whose
#                            macOS and Linux aarch64 wheels are CPU builds.
#   IONFLOW_VENV             the environment to create or update (default: .venv;
#                            scripts/setup_mace.sh uses .venv-mace)
#   IONFLOW_EXTRAS           extras of ionflow to install, e.g. "sevennet,atomate2"; with
#                            "test", SHRY is installed too (--no-deps, see docs/ordering.md)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${IONFLOW_VENV:-.venv}
TORCH="torch==${IONFLOW_TORCH_VERSION:-2.13.0}"
CPU_INDEX=https://download.pytorch.org/whl/cpu

if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
pip_install() { "$VENV/bin/python" -m pip install -q "$@"; }
pip_install --upgrade pip

if [ -n "${IONFLOW_TORCH_INDEX_URL:-}" ]; then
    echo "setup: $TORCH from $IONFLOW_TORCH_INDEX_URL" >&2
    pip_install --index-url "$IONFLOW_TORCH_INDEX_URL" "$TORCH"
elif pip_install --no-index --no-deps "$TORCH" 2>/dev/null; then
    echo "setup: $TORCH already installed or from a local wheel" >&2
    pip_install "$TORCH"  # its dependencies, from the usual indexes
elif [ "$(uname -s)" = Linux ] && [ "$(uname -m)" = x86_64 ]; then
    echo "setup: $TORCH, CPU build, from $CPU_INDEX (set IONFLOW_TORCH_INDEX_URL for another)" >&2
    pip_install --index-url "$CPU_INDEX" "$TORCH"
else
    echo "setup: $TORCH from PyPI" >&2
    pip_install "$TORCH"
fi

pip_install -e ".${IONFLOW_EXTRAS:+[$IONFLOW_EXTRAS]}"

# SHRY (symmetry-distinct orderings, docs/ordering.md) pins pymatgen<=2023.10.4 and numpy<2,
# which ionflow's requirements exclude, so it cannot be an extra; the part ionflow uses works
# with the current versions. The tests compare it against a brute-force enumerator.
case ",${IONFLOW_EXTRAS:-}," in
    *,test,*) pip_install --no-deps "shry>=1.1.8" ;;
esac
