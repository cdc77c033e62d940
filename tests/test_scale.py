"""Detect small, crop big: boxes found in a reduced copy, faces read from the full frame."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scenes import background, face_box, face_patch, paste

from fer_edge.config import RunConfig
from fer_edge.contract.card import ModelCard
from fer_edge.contract.recipe import CropRecipe
from fer_edge.faces.detect import Face
from fer_edge.faces.factory import build_detector
from fer_edge.faces.scale import DownscaledDetector, copy_size
from fer_edge.faces.tracker import IouTracker, iou
from fer_edge.frame_pipeline import FramePipeline


class Fixed:
    """An inner detector that finds fixed faces (in the copy's pixels) and notes what it saw."""

    name = "fixed"

    def __init__(self, faces):
        self.faces, self.seen = faces, []

    def detect(self, image):
        self.seen.append(image)
        return list(self.faces)


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


class ReadsDetail:
    """A 'model' that sees class 3 where the crop holds fine detail (a 1 px checkerboard), 0
    where it is flat: it can only be right when the crop comes from the full frame."""

    card = ModelCard("fake.tflite", "tflite", "ab" * 32, CropRecipe(size=48, margin=0.0))

    def predict(self, crops):
        probs = np.full((len(crops), 7), 0.01, np.float32)
        for i, crop in enumerate(crops):
            detail = cv2.Laplacian(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY), cv2.CV_32F).var()
            probs[i, 3 if detail > 500 else 0] = 0.94
        return probs


def test_faces_are_cropped_from_the_full_frame_not_the_detection_copy():
    frame = np.full((1080, 1920, 3), 128, np.uint8)
    x, y, side = 900, 500, 24  # a 24 px face: 12 px in the 960 px copy
    yy, xx = np.mgrid[0:side, 0:side]
    frame[y : y + side, x : x + side] = (((xx + yy) % 2) * 255)[..., None]  # 1 px checkerboard
    inner = Fixed([Face((x / 2, y / 2, side / 2, side / 2), 0.9)])
    pipeline = FramePipeline(DownscaledDetector(lambda m: inner, 960), ReadsDetail(), IouTracker())
    ((_, label, _, why, *_),) = pipeline.process(0.0, frame)
    assert why is None and label == 3  # read from its 24 px original
    copy = inner.seen[0]
    assert copy.shape == (540, 960, 3)
    assert copy[y // 2 + 1 : y // 2 + 11, x // 2 + 1 : x // 2 + 11].std() < 1  # flat grey there


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
