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

echo "==> done: serve it with 'python3 -m http.server 8000 --bind 127.0.0.1 --directory site'"
echo "    and open http://127.0.0.1:8000/ (Korean) or http://127.0.0.1:8000/en/ (English)"
