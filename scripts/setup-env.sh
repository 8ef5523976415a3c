# Create or update the virtual environment .venv. build-site.sh and test.sh source this file.
#
# Usage: source scripts/setup-env.sh [runtime|dev]
# Set PYTHON to choose the interpreter (default: python3, which must be 3.11 or newer).
# The install step is skipped when the requirement files have not changed since the last one.

set -euo pipefail

profile="${1:-runtime}"
requirements="requirements.txt"
[ "$profile" = "dev" ] && requirements="requirements-dev.txt"

python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: $python is missing or older than Python 3.11; set PYTHON=/path/to/python3.11" >&2
    echo "오류: $python 이 없거나 Python 3.11보다 오래되었습니다. PYTHON=/path/to/python3.11 로 지정하세요." >&2
    return 1 2>/dev/null || exit 1
fi

if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv with $("$python" --version)"
    "$python" -m venv .venv
fi
# shellcheck disable=SC1091
source .venv/bin/activate

stamp=".venv/.cvnotes-$profile.sha256"
digest="$(cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
    echo "==> installing $requirements and cvnotes (the first install takes several minutes and about 6 GB)"
    python -m pip install --quiet --upgrade pip
    python -m pip install --quiet -r "$requirements"
    python -m pip install --quiet --no-deps -e .
    echo "$digest" > "$stamp"
else
    echo "==> .venv is up to date ($requirements)"
fi
