#!/usr/bin/env bash
# Set up, ingest knowledge/ (only what changed), and serve the API on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec .venv/bin/copilot serve "$@"
