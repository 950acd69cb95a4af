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
mkdir -p test-artifacts
log=test-artifacts/pytest.log
set +e
.venv/bin/python -m pytest "${markers[@]}" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# The one-line skip summary (tests/conftest.py prints it), repeated after pytest's own last line.
summary=$(grep -E '^skipped [0-9]+' "$log" | tail -n 1 || true)
echo "==> ${summary:-skipped: no summary (pytest stopped before its report)}"
case "$status" in
  0) ;;
  5) echo "==> pytest collected no tests for these arguments: nothing to run is not a failure"; status=0 ;;
  *) echo "==> pytest failed (exit $status); see $log" ;;
esac
exit "$status"
