#!/usr/bin/env bash
# Set up (with the test and SevenNet extras) and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
IONFLOW_EXTRAS=test,sevennet bash scripts/setup.sh
.venv/bin/python -m pytest "$@"
