#!/usr/bin/env bash
# Set up, ingest knowledge/ (only what changed), and serve the API, the demo helpdesk (/), the
# side panel and the consoles on 127.0.0.1 (the URLs are printed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec .venv/bin/copilot serve "$@"
