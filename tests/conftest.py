"""Shared fixtures: the YuNet test model and real public-domain face images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
YUNET_TEST_MODEL = REPO.parent / "shared" / "models" / "yunet-test.onnx"
#: The first frame of test clips, so their windows are the same on any machine.
START = "2026-01-05T08:00:00Z"


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


def needs(module: str):
    """``module`` imported, or the test skipped with a line saying how to install it."""
    how = next(
        (text for key, text in INSTALL.items() if module == key or module.startswith(key + ".")),
        "pip install it",
    )
    return pytest.importorskip(module, reason=f"{module} is not installed: {how}")


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


@pytest.fixture(scope="session")
def yunet_model() -> Path:
    path, why = find_yunet_for_tests()
    if path is None:
        pytest.skip(why)
    return path


@pytest.fixture(scope="session")
def astronaut_bgr() -> np.ndarray:
    """scikit-image's astronaut photo (public domain) as an OpenCV BGR image."""
    data = needs("skimage.data")
    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])


@pytest.fixture(scope="session")
def head_bgr(astronaut_bgr) -> np.ndarray:
    """The astronaut's head and shoulders, for tiling into multi-face frames."""
    return np.ascontiguousarray(astronaut_bgr[10:230, 120:330])


def tile_faces(head: np.ndarray, side: int, shape=(360, 640), step: float = 1.5) -> tuple:
    """A grey frame holding copies of ``head`` scaled to ``side`` px; returns (frame, boxes)."""
    import cv2

    tile = cv2.resize(head, (side, side), interpolation=cv2.INTER_AREA)
    frame = np.full((*shape, 3), 128, np.uint8)
    boxes = []
    for r in range(4, shape[0] - side, int(side * step)):
        for c in range(4, shape[1] - side, int(side * step)):
            frame[r : r + side, c : c + side] = tile
            boxes.append((c, r, side, side))
    return frame, boxes


def write_face_clip(
    path: Path, head: np.ndarray, frames: int, fps: float = 10.0, side: int = 40
) -> Path:
    """An MJPG clip of 15 tiled astronaut heads (``side`` px tiles) drifting a pixel a frame.

    40 px tiles (faces ~17 px, a 320x180 frame) are below the quality gate's readable size;
    80 px tiles (a 640x360 frame) are readable.
    """
    import cv2

    shape = (180, 320) if side <= 40 else (360, 640)
    base, _ = tile_faces(head, side, shape=shape)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, shape[::-1])
    for i in range(frames):
        writer.write(np.roll(base, i % 6, axis=1))
    writer.release()
    return path
