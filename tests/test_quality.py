"""The face-quality gate: size, pose from the landmarks, sharpness."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scenes import ASTRONAUT_FACE, astronaut

from fer_edge.faces.detect import Face
from fer_edge.faces.quality import QualityGate, head_pose, sharpness
from helpers.landmarks import FRONTAL, marks


def _face(width=40.0, **kwargs):
    scale = width / ASTRONAUT_FACE[2]
    box = (100.0, 100.0, width, width * 113 / 90)
    return Face(box, 0.9, marks(offset=(100.0, 100.0), scale=scale, **kwargs))


def test_head_pose_reads_turned_and_lowered_faces():
    yaw, pitch = head_pose(FRONTAL)
    assert yaw < 15 and -15 < pitch < 5  # the astronaut's nose sits a little high
    assert head_pose(marks(nose_dx=0.35))[0] > 30  # nose off the midline: turned
    assert head_pose(marks(nose_dy=0.35))[1] > 25  # nose tip near the mouth: looking down
    # the estimate does not depend on where or how big the face is
    assert head_pose(_face(24).landmarks) == pytest.approx(head_pose(FRONTAL), abs=0.5)
    # eyes set wider or narrower against the mouth (people differ so) is not a turn
    for squash in (0.8, 1.2):
        assert head_pose(marks(squash_x=squash))[0] == pytest.approx(head_pose(FRONTAL)[0], abs=3)


def _varied_face(rng, expression):
    """YuNet-like landmarks of a frontal face of a random person showing ``expression``."""
    iod = rng.uniform(20, 120)
    height = iod / rng.uniform(0.82, 1.15)  # eye-mouth height: people differ
    drop = rng.normal(0.57, 0.035) * iod  # the nose tip's height below the eyes
    side = rng.normal(0.0, 0.03) * iod  # landmark noise, a slight turn
    mouth = rng.uniform(0.75, 0.95) * iod
    if expression == "happy":  # a smile: wider, corners lifted
        mouth, height = mouth * 1.25, height * 0.92
    elif expression == "surprise":  # an open mouth: lower corners, narrower
        mouth, height = mouth * 0.8, height * 1.12
    elif expression == "contempt":  # one corner pulled up and aside
        pass
    pts = np.array(
        [[-iod / 2, 0], [iod / 2, 0], [side, drop], [-mouth / 2, height], [mouth / 2, height]]
    )
    if expression == "contempt":
        pts[4] += (0.12 * iod, -0.08 * iod)
    roll = np.radians(rng.uniform(-15, 15))
    rot = np.array([[np.cos(roll), -np.sin(roll)], [np.sin(roll), np.cos(roll)]])
    return pts @ rot.T + rng.uniform(50, 500, 2)


def test_the_pose_gate_treats_people_and_expressions_alike():
    """Frontal faces of varied proportions: few called turned or down, and none more often
    for one expression than for another."""
    rng = np.random.default_rng(7)
    gate = QualityGate(min_face=0, min_sharpness=0)
    rejected = {}
    for expression in ("neutral", "happy", "surprise", "contempt"):
        faces = [_varied_face(rng, expression) for _ in range(400)]
        why = [gate.before_crop(Face((0, 0, 100, 100), 0.9, tuple(map(tuple, f)))) for f in faces]
        rejected[expression] = sum(w is not None for w in why) / len(why)
    assert max(rejected.values()) <= 0.05, rejected
    assert max(rejected.values()) - min(rejected.values()) <= 0.02, rejected


def test_gate_marks_small_turned_lowered_and_blurred_faces():
    gate = QualityGate(min_face=24, max_yaw=35, max_pitch=25, min_sharpness=0.5)
    assert gate.before_crop(_face(40)) is None
    assert gate.before_crop(_face(16)) == "small"
    assert gate.before_crop(_face(40, nose_dx=0.4)) == "turned"
    assert gate.before_crop(_face(40, nose_dy=0.4)) == "down"
    assert gate.before_crop(Face((0, 0, 40, 50), 0.9)) is None  # no landmarks: size only
    assert QualityGate(0, 0, 0, 0).before_crop(_face(16, nose_dx=0.4)) is None  # all off
    big = cv2.resize(astronaut(), (256, 256), interpolation=cv2.INTER_AREA)  # face 45 px
    face = Face(tuple(v / 2 for v in ASTRONAUT_FACE), 0.9)
    blurred = cv2.GaussianBlur(big, (0, 0), 3.0)
    assert sharpness(big, face.box) > 0.5 > sharpness(blurred, face.box)
    assert gate.on_pixels(big, face) is None and gate.on_pixels(blurred, face) == "blurred"
    # brightness and contrast do not make a face blurred
    dark = np.clip(big.astype(np.float32) * 0.35, 0, 255).astype(np.uint8)
    assert sharpness(dark, face.box) == pytest.approx(sharpness(big, face.box), rel=0.15)
    assert sharpness(np.full((96, 96, 3), 80, np.uint8), (10, 10, 50, 50)) == 0.0


def test_sharpness_is_measured_on_the_face_at_one_scale():
    """The same face at 90 px and at 45 px reads about equally sharp, whatever model follows:
    the measure takes the frame and the box, not the model's crop."""
    full = astronaut()
    half = cv2.resize(full, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    at_90 = sharpness(full, ASTRONAUT_FACE)
    at_45 = sharpness(half, tuple(v / 2 for v in ASTRONAUT_FACE))
    assert at_90 == pytest.approx(at_45, rel=0.2)
    blurred = sharpness(cv2.GaussianBlur(full, (0, 0), 6.0), ASTRONAUT_FACE)
    assert blurred < 0.5 * at_90
