#!/usr/bin/env bash
# Set up .venv-mace (scripts/setup_mace.sh) and run the MACE tests (tests/with_mace) there.
#
# mace-torch cannot share .venv with sevenn (e3nn pins), so the MACE tests run in their own
# environment; in .venv they are skipped with a reason. They build a tiny Cu/Al/Ni MACE
# foundation from scratch, multi-head fine-tune it (replay = the foundation's training data),
# and run `ionflow neb --model mace:PATH` with the result. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_mace.sh
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
.venv-mace/bin/python -m pytest tests/with_mace "$@"
