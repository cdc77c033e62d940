"""Face detectors: YuNet and Haar, and choosing between them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fer_edge.contract.errors import ConfigError, ModelFileError
from fer_edge.faces import modelfiles
from fer_edge.faces.detect import HaarDetector, YuNetDetector, create_detector
from helpers.clips import tile_faces

# The astronaut's face in skimage.data.astronaut() lies about here (x0, y0, x1, y1).
FACE_REGION = (165, 50, 285, 190)


def _inside(box, region, slack=15):
    x, y, w, h = box
    x0, y0, x1, y1 = region
    return x >= x0 - slack and y >= y0 - slack and x + w <= x1 + slack and y + h <= y1 + slack


def _iou(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    return inter / (aw * ah + bw * bh - inter)


def test_yunet_finds_the_astronaut_face_with_landmarks(yunet_model, astronaut_bgr):
    faces = YuNetDetector(yunet_model).detect(astronaut_bgr)
    assert len(faces) == 1
    face = faces[0]
    assert face.score > 0.8 and _inside(face.box, FACE_REGION)
    (rx, ry), (lx, ly) = face.eyes
    assert rx < lx and abs(ry - ly) < 10  # subject's right eye on the image's left, level


def test_haar_finds_the_astronaut_face(astronaut_bgr):
    try:
        detector = HaarDetector()
    except ModelFileError as exc:
        pytest.skip(f"no Haar cascade here: {exc}")
    faces = detector.detect(astronaut_bgr)
    assert len(faces) == 1 and _inside(faces[0].box, FACE_REGION)


@pytest.mark.parametrize("side", [80, 48, 40])
def test_yunet_finds_every_face_of_a_tiled_frame(yunet_model, head_bgr, side):
    frame, tiles = tile_faces(head_bgr, side)
    faces = YuNetDetector(yunet_model).detect(frame)
    assert len(faces) == len(tiles) >= 15
    for x, y, w, h in tiles:  # each tile holds exactly one detection
        inside = [
            f
            for f in faces
            if x <= f.box[0] + f.box[2] / 2 <= x + w and y <= f.box[1] + f.box[3] / 2 <= y + h
        ]
        assert len(inside) == 1
    # at side 48 the faces are ~20 px
    assert min(min(f.box[2:]) for f in faces) < side * 0.6


def test_haar_finds_large_tiled_faces(head_bgr):
    try:
        detector = HaarDetector()
    except ModelFileError as exc:
        pytest.skip(f"no Haar cascade here: {exc}")
    frame, tiles = tile_faces(head_bgr, 120, shape=(400, 640))
    faces = detector.detect(frame)
    assert len(faces) == len(tiles)
    assert all(max(_iou(f.box, t) for t in tiles) > 0.1 for f in faces)


def test_no_face_frame(yunet_model):
    rng = np.random.default_rng(1)
    frame = cv2.GaussianBlur(rng.integers(0, 255, (360, 640, 3), dtype=np.uint8), (9, 9), 3)
    assert YuNetDetector(yunet_model).detect(frame) == []
    assert YuNetDetector(yunet_model).detect(np.zeros((240, 320), np.uint8)) == []


def test_min_size_filters_small_faces(yunet_model, head_bgr):
    frame, _ = tile_faces(head_bgr, 40)
    assert YuNetDetector(yunet_model, min_size=30).detect(frame) == []


def test_create_detector_prefers_yunet_and_falls_back_to_haar(
    yunet_model, monkeypatch, tmp_path, caplog
):
    monkeypatch.setenv("FER_EDGE_FACE_MODEL", str(yunet_model))
    assert create_detector("auto").name == "yunet"
    monkeypatch.delenv("FER_EDGE_FACE_MODEL")
    monkeypatch.setenv("FER_EDGE_MODELS_DIR", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(modelfiles, "models_dirs", lambda: [tmp_path])
    with pytest.raises(ModelFileError, match="YuNet face model not found"):
        create_detector("yunet")
    try:
        fallback = create_detector("auto")
    except ModelFileError as exc:
        pytest.skip(f"no Haar cascade here: {exc}")
    assert fallback.name == "haar" and "misses most faces" in caplog.text
    assert caplog.records[-1].levelname == "WARNING"  # a fallback nobody chose is a warning
    caplog.clear()
    caplog.set_level("INFO", logger="fer_edge.faces.detect")
    assert create_detector("haar").name == "haar"
    assert caplog.records[-1].levelname == "INFO"  # a chosen Haar detector is only noted
    (tmp_path / modelfiles.YUNET_FILENAME).write_bytes(yunet_model.read_bytes())
    assert create_detector("auto").name == "yunet"
    with pytest.raises(ConfigError, match="unknown detector"):
        create_detector("dlib")


def test_missing_and_corrupt_model_files_give_clear_errors(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        create_detector("yunet", face_model=tmp_path / "nope.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ModelFileError, match="not a usable YuNet"):
        YuNetDetector(bad)
    with pytest.raises(ModelFileError, match="Haar cascade not found"):
        HaarDetector(tmp_path / "nope.xml")
