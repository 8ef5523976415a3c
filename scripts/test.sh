#!/usr/bin/env bash
# Set up the development environment and run the test suite.
#
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not build"` skips
# the full MkDocs build test.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/setup-env.sh dev

echo "==> ruff (lint and format check)"
python -m ruff check .
python -m ruff format --check .

echo "==> pytest"
python -m pytest "$@"
