#!/usr/bin/env bash
# The device leg: the edge test suite on the library versions of Raspberry Pi OS bookworm
# (numpy 1.x, OpenCV 4.x), in a fresh virtualenv without TensorFlow.
#   numpy 1.24 (numpy<2 on Python 3.12+, which 1.24 has no wheels for): bookworm's numpy, which
#                                apt python3-picamera2 and python3-opencv are built on
#   opencv-python-headless<4.12  4.12+ requires numpy>=2 (bookworm's apt OpenCV is 4.6)
#   ai-edge-litert               the LiteRT runtime the device uses (works with numpy 1.x)
# setuptools + wheel: tests/test_packaging.py builds the wheel with --no-build-isolation.
# Usage: .ci/edge-leg.sh [extra pytest args]
#   FER_EDGE_LEG_VENV: the venv folder; FER_EDGE_LEG_NUMPY: the numpy requirement.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${FER_EDGE_LEG_VENV:-${TMPDIR:-/tmp}/fer-edge-edge-leg}
CONSTRAINTS=$(mktemp)
trap 'rm -f "$CONSTRAINTS"' EXIT
if "$PYTHON" -c 'import sys; sys.exit(sys.version_info >= (3, 12))'; then
  NUMPY=${FER_EDGE_LEG_NUMPY:-numpy>=1.24,<1.25}
else
  NUMPY=${FER_EDGE_LEG_NUMPY:-numpy<2}
fi
printf '%s\n' "$NUMPY" 'opencv-python-headless<4.12' >"$CONSTRAINTS"

"$PYTHON" -m venv --clear "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
# A regular (non-editable) install: the tests import the installed package, as on a device.
"$VENV/bin/python" -m pip install -q -c "$CONSTRAINTS" '.[edge,fleet]' \
  pytest pytest-timeout hypothesis scikit-image 'setuptools>=61' wheel
"$VENV/bin/python" - <<'PY'
import sys

import cv2
import numpy
from ai_edge_litert.interpreter import Interpreter  # noqa: F401

assert numpy.__version__.startswith("1."), numpy.__version__
assert cv2.__version__.startswith("4."), cv2.__version__
try:
    import tensorflow  # noqa: F401
except ImportError:
    pass
else:
    sys.exit("edge leg: TensorFlow is installed; the device suite must run without it")
print(f"edge leg: Python {sys.version.split()[0]}, numpy {numpy.__version__}, OpenCV {cv2.__version__}")
PY
"$VENV/bin/python" -m pytest -q -m "not tf and not slow" -p no:cacheprovider tests/ "$@"
