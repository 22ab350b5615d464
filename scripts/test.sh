#!/usr/bin/env bash
# Set up (with the test and SevenNet extras), check the code's shape, run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
IONFLOW_EXTRAS=test,sevennet bash scripts/setup.sh
# the import-layer contract (pyproject [tool.importlinter]) and the lint rules
.venv/bin/lint-imports
.venv/bin/ruff check src tests benchmarks workflows scripts
.venv/bin/python -m pytest "$@"
