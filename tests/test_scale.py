"""Detect small: boxes found in a reduced copy, mapped back to the full frame's pixels (that
the pipeline then crops from the full frame is tested in test_frame_pipeline.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scenes import background, face_box, face_patch, paste

from fer_edge.config import RunConfig
from fer_edge.faces.detect import Face
from fer_edge.faces.factory import build_detector
from fer_edge.faces.scale import DownscaledDetector, copy_size
from fer_edge.faces.tracker import iou
from helpers.fakes import Fixed

MARKS = ((13.0, 24.0), (19.0, 24.0), (16.0, 28.0), (14.0, 31.0), (18.0, 31.0))


@pytest.mark.parametrize("size", [(1920, 1080), (1281, 721), (2304, 1296)])
def test_boxes_and_landmarks_are_mapped_back_exactly(size):
    width, height = size
    inner = Fixed([Face((10.0, 20.0, 12.0, 14.0), 0.9, MARKS)])
    detector = DownscaledDetector(lambda m: inner, 640)
    (face,) = detector.detect(np.zeros((height, width, 3), np.uint8))
    small = copy_size(width, height, 640)
    assert inner.seen[0].shape[:2] == (small[1], small[0]) and small[0] == 640
    sx, sy = width / small[0], height / small[1]
    assert face.box == (10.0 * sx, 20.0 * sy, 12.0 * sx, 14.0 * sy)
    assert face.landmarks == tuple((x * sx, y * sy) for x, y in MARKS)


def test_frames_no_wider_than_the_detection_width_are_passed_through():
    inner = Fixed([Face((10.0, 20.0, 12.0, 14.0), 0.9)])
    frame = np.zeros((360, 640, 3), np.uint8)
    assert DownscaledDetector(lambda m: inner, 960).detect(frame)[0].box == (10, 20, 12, 14)
    assert inner.seen[0] is frame


def test_yunet_on_a_reduced_copy_finds_big_frame_faces_where_they_are(yunet_model):
    """A 1920x1080 frame of 48-64 px faces, detected in the default 960 px copy (24-32 px)."""
    frame = cv2.resize(background("coffee"), (1920, 1080), interpolation=cv2.INTER_LINEAR)
    truth = []
    for k, side in enumerate((48, 52, 56, 60, 64, 48, 56, 64)):
        cx, cy = 200 + 200 * k, 300 + 400 * (k % 2)
        patch, alpha = face_patch(float(side))
        paste(frame, patch, alpha, cx, cy)
        truth.append(face_box(cx, cy, side))
    detector = build_detector("yunet", yunet_model, detect_width=RunConfig().detect_width)
    faces = detector.detect(frame)
    matched = [max(iou(f.box, t) for f in faces) for t in truth]
    assert len(faces) == len(truth) and min(matched) > 0.5
    for face in faces:  # landmarks inside their box, in full-frame pixels
        x, y, w, h = face.box
        assert all(x <= mx <= x + w and y <= my <= y + h for mx, my in face.landmarks)
