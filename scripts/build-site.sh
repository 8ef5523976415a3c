#!/usr/bin/env bash
# Set up everything and build the bilingual site into site/ (Korean at /, English at /en/).
#
# Creates .venv, installs the pinned requirements and cvnotes, builds the figures
# (quick profile unless CVNOTES_PROFILE=full) and runs `mkdocs build --strict`.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/setup-env.sh runtime

echo "==> building figures (profile: ${CVNOTES_PROFILE:-quick})"
cvnotes figures

echo "==> building the site (strict; executes the tutorial notebooks)"
mkdocs build --strict

echo "==> done: open site/index.html, or run 'source .venv/bin/activate && mkdocs serve'"
