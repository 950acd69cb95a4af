#!/usr/bin/env bash
# Runs every test: lint, type check, then pytest against real PostgreSQL, Redis, servers and Chromium.
# Long (nightly-size) runs: AVLABEL_LONG=1 scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
echo "==> ruff"
lint_dirs=$(for d in backend detectors tests bench; do if [ -d "$d" ]; then echo "$d"; fi; done)
# shellcheck disable=SC2086
.venv/bin/ruff check $lint_dirs
echo "==> mypy"
type_dirs=$(for d in backend detectors; do if [ -f "$d/__init__.py" ]; then echo "$d"; fi; done)
# shellcheck disable=SC2086
.venv/bin/mypy $type_dirs
echo "==> pytest"
markers=()
[ "${AVLABEL_LONG:-0}" = "1" ] || markers=(-m "not slow")
.venv/bin/python -m pytest "${markers[@]}" "$@"
