"""Skipping a test that lacks something, with a line saying how to get it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from . import REPO

YUNET_TEST_MODEL = REPO.parent / "shared" / "models" / "yunet-test.onnx"


#: How to install what a group of tests needs, by the module they import.
INSTALL = {
    "tensorflow": "the train-cpu extra: pip install -e '.[train-cpu]' (make test installs it)",
    "keras": "the train-cpu extra: pip install -e '.[train-cpu]' (make test installs it)",
    "jax": "make backends (JAX and PyTorch CPU builds; CI's .ci/run runs it)",
    "torch": "make backends (JAX and PyTorch CPU builds; CI's .ci/run runs it)",
    "paho.mqtt": "the fleet extra: pip install -e '.[fleet]' (make test installs it)",
    "prometheus_client": "the fleet extra: pip install -e '.[fleet]' (make test installs it)",
    "skimage": "the dev extra: pip install -e '.[dev]' (make test installs it)",
    "matplotlib": "the train-cpu extra: pip install -e '.[train-cpu]' (or pip install matplotlib)",
    "PIL": "the train-cpu extra: pip install -e '.[train-cpu]' (or pip install pillow)",
}


def _missing(module: str) -> str:
    how = next(
        (text for key, text in INSTALL.items() if module == key or module.startswith(key + ".")),
        "pip install it",
    )
    return f"{module} is not installed: {how}"


def needs(module: str):
    """``module`` imported, or the test skipped with a line saying how to install it."""
    return pytest.importorskip(module, reason=_missing(module))


def requires(module: str) -> pytest.MarkDecorator:
    """A mark skipping a test, with :func:`needs`' line, where ``module`` is not installed (for
    a module whose other tests run without it)."""
    try:
        absent = importlib.util.find_spec(module) is None
    except ModuleNotFoundError:  # its package is missing
        absent = True
    return pytest.mark.skipif(absent, reason=_missing(module))


def find_yunet_for_tests() -> tuple[Path | None, str]:
    """The YuNet model the tests use, and why there is none: ../shared's test copy, else the
    one fer-edge itself would use ($FER_EDGE_FACE_MODEL, or `fer-edge models fetch`'s)."""
    if YUNET_TEST_MODEL.is_file():
        return YUNET_TEST_MODEL, ""
    from fer_edge.contract.errors import FerError
    from fer_edge.faces import modelfiles

    try:
        found = modelfiles.find_yunet()
    except FerError as exc:
        return None, str(exc)
    how = (
        "no YuNet face model: run `fer-edge models fetch` once (downloads OpenCV Zoo's, 233 kB), "
        "or set FER_EDGE_FACE_MODEL=/path/to/face_detection_yunet_2023mar.onnx, or copy one to "
        f"{YUNET_TEST_MODEL}"
    )
    return found, "" if found else how
