"""build_detector: the detector a run uses, tiled for small faces, behind a reduced copy."""

from __future__ import annotations

import pytest

from fer_edge.faces.detect import YuNetDetector, create_detector
from fer_edge.faces.factory import build_detector
from fer_edge.faces.tiling import TiledDetector


def test_build_detector_tiles_only_for_small_min_face(yunet_model):
    assert isinstance(build_detector("yunet", yunet_model, min_face=12), TiledDetector)
    plain = build_detector("yunet", yunet_model, min_face=24)
    assert isinstance(plain, YuNetDetector) and plain.min_size == 24
    assert isinstance(create_detector("yunet", yunet_model, min_size=12), YuNetDetector)


def test_min_face_is_in_capture_pixels_behind_a_reduced_copy(yunet_model):
    """24 px faces of a 1920 px frame are 8 px in a 640 px copy: that copy is tiled."""
    detector = build_detector("yunet", yunet_model, min_face=24, detect_width=640)
    assert isinstance(detector.inner(1920, 1080), TiledDetector)
    assert detector.inner(1920, 1080).min_face == pytest.approx(8.0)
    assert isinstance(detector.inner(640, 360), YuNetDetector)
