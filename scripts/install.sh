#!/usr/bin/env bash
# Installs everything avlabel needs on a fresh Debian machine (run as root): system packages, a Python
# virtualenv with the project, the player plugin's npm packages and build, and local PostgreSQL + Redis.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

APT_PACKAGES=(chromium fonts-wqy-microhei libmagic1 redis-server postgresql ffmpeg espeak-ng flite wrk libchromaprint1)
if [ -f detectors/training/apt-packages.txt ]; then
  mapfile -t EXTRA < <(grep -v '^\s*#' detectors/training/apt-packages.txt | tr -s ' \n' '\n' | sed '/^$/d')
  APT_PACKAGES+=("${EXTRA[@]}")
fi
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

echo "==> Python virtualenv (.venv)"
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import backend, c2pa, onnxruntime" >/dev/null

if [ -f player_plugin/package.json ]; then
  echo "==> player plugin (npm)"
  (cd player_plugin && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
fi

bash "$ROOT/scripts/services.sh"
echo "==> installed"
