#!/usr/bin/env bash
# Creates .venv-rasa: Rasa Open Source 3.6 supports Python 3.8-3.10 only, while Accord runs on 3.11,
# so the dialogue layer gets its own interpreter and talks to Accord over HTTP.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-rasa
LOCK=nlu/requirements-rasa.lock

PY="${RASA_PYTHON:-}"
if [ -z "$PY" ]; then
  PY=$(ls -d /root/.pyenv/versions/3.10.*/bin/python3.10 2>/dev/null | tail -1 || true)
fi
if [ -z "$PY" ]; then
  PY=$(command -v python3.10 || true)
fi
if [ -z "$PY" ] || ! "$PY" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
  echo "Accord's dialogue layer needs Python 3.10 for Rasa 3.6 (none found under /root/.pyenv/versions/3.10.*" >&2
  echo "or as python3.10 on PATH). Install it, e.g. 'pyenv install 3.10', or set RASA_PYTHON=/path/to/python3.10." >&2
  exit 1
fi

export RASA_TELEMETRY_ENABLED=false
test -x "$VENV/bin/python" || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade 'pip<25'
if [ -s "$LOCK" ]; then
  "$VENV/bin/python" -m pip install --quiet -r "$LOCK"
else
  # First install on a new platform: resolve from the pinned top-level packages, then freeze the lock.
  "$VENV/bin/python" -m pip install --quiet 'rasa==3.6.21' 'rasa-sdk>=3.6,<3.7' 'jieba==0.42.1' \
    'pytest>=7,<9' 'httpx>=0.24,<0.28'
  "$VENV/bin/python" -m pip freeze --exclude-editable > "$LOCK"
fi
"$VENV/bin/rasa" telemetry disable >/dev/null 2>&1 || true
touch "$VENV/.installed"
echo "Rasa environment ready in $VENV"
