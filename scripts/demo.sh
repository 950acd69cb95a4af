#!/usr/bin/env bash
# Installs everything, then serves avlabel with its demo page on http://127.0.0.1:8000/
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/avlabel serve --demo --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
