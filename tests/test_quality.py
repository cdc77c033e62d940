"""The face-quality gate, motion between detections, and what the window records of both."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scenes import ASTRONAUT_FACE, astronaut

from fer_edge.contract.card import ModelCard
from fer_edge.contract.labels import LABELS
from fer_edge.contract.recipe import CropRecipe
from fer_edge.faces.detect import Face
from fer_edge.faces.quality import QualityGate, head_pose, sharpness
from fer_edge.faces.tracker import IouTracker
from fer_edge.frame_pipeline import FramePipeline
from fer_edge.record.aggregate import WindowAggregator

SHA = "ab" * 32
#: YuNet's landmarks of the astronaut's frontal face: eyes, nose tip, mouth corners.
FRONTAL = ((200.1, 101.8), (247.1, 102.6), (220.4, 124.5), (198.6, 142.8), (239.7, 143.6))


def _marks(nose_dx=0.0, nose_dy=0.0, squash_x=1.0, offset=(0.0, 0.0), scale=1.0):
    """FRONTAL with the nose moved (in eye distances), x squashed, then moved and scaled."""
    pts = np.array(FRONTAL)
    pts[2] += (nose_dx * 47.0, nose_dy * 40.0)
    pts[:, 0] = 223.6 + (pts[:, 0] - 223.6) * squash_x
    pts = (pts - (178, 63)) * scale + offset
    return tuple(map(tuple, pts))


def _face(width=40.0, **kwargs):
    scale = width / ASTRONAUT_FACE[2]
    box = (100.0, 100.0, width, width * 113 / 90)
    return Face(box, 0.9, _marks(offset=(100.0, 100.0), scale=scale, **kwargs))


def test_head_pose_reads_turned_and_lowered_faces():
    yaw, pitch = head_pose(FRONTAL)
    assert yaw < 15 and -15 < pitch < 5  # the astronaut's nose sits a little high
    assert head_pose(_marks(nose_dx=0.35))[0] > 30  # nose off the midline: turned
    assert head_pose(_marks(nose_dy=0.35))[1] > 25  # nose tip near the mouth: looking down
    # the estimate does not depend on where or how big the face is
    assert head_pose(_face(24).landmarks) == pytest.approx(head_pose(FRONTAL), abs=0.5)
    # eyes set wider or narrower against the mouth (people differ so) is not a turn
    for squash in (0.8, 1.2):
        assert head_pose(_marks(squash_x=squash))[0] == pytest.approx(head_pose(FRONTAL)[0], abs=3)


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


class _Faces:
    """A detector returning fixed faces, each moving ``speed`` px a call to the right."""

    name = "fixed"

    def __init__(self, faces, speed=0.0):
        self.faces, self.speed, self.calls = faces, speed, 0

    def detect(self, image):
        dx = self.speed * self.calls
        self.calls += 1
        return [
            Face((f.box[0] + dx, *f.box[1:]), f.score, tuple((x + dx, y) for x, y in f.landmarks))
            for f in self.faces
        ]


class _Counting:
    card = ModelCard("fake.tflite", "tflite", SHA, CropRecipe(size=32))

    def __init__(self):
        self.batches: list[int] = []

    def predict(self, crops):
        self.batches.append(len(crops))
        probs = np.full((len(crops), 7), 0.01, np.float32)
        probs[:, 3] = 0.94
        return probs


def _frame():
    frame = np.full((360, 640, 3), 90, np.uint8)
    face = cv2.resize(astronaut(), (205, 205), interpolation=cv2.INTER_AREA)  # face 36 px
    for x in (40, 300):
        frame[40:245, x : x + 205] = face
    return frame


def _astronaut_faces(xs=(40, 300), width=36.0):
    s = width / ASTRONAUT_FACE[2]
    out = []
    for x in xs:
        box = (x + ASTRONAUT_FACE[0] * s, 40 + ASTRONAUT_FACE[1] * s, width, width * 113 / 90)
        out.append(Face(box, 0.9, _marks(offset=box[:2], scale=s)))
    return out


def test_pipeline_leaves_unreadable_faces_unclassified():
    tiny = Face((500, 300, 12, 15), 0.9, _marks(offset=(500, 300), scale=12 / 90))
    turned = _astronaut_faces(xs=(300,))[0]
    turned = Face(turned.box, 0.9, _marks(offset=turned.box[:2], scale=0.4, nose_dx=0.45))
    detector = _Faces([*_astronaut_faces(xs=(40,)), tiny, turned])
    classifier = _Counting()
    gate = QualityGate(min_face=24, max_yaw=35, max_pitch=25, min_sharpness=0.5)
    pipeline = FramePipeline(detector, classifier, IouTracker(), gate=gate)
    obs = pipeline.process(0.0, _frame())
    assert classifier.batches == [1]  # only the readable face reaches the model
    assert [(o[1], o[3]) for o in obs] == [(3, None), (None, "small"), (None, "turned")]
    obs = pipeline.process(0.1, cv2.GaussianBlur(_frame(), (0, 0), 4.0))
    assert obs[0][1:] == (None, 0.0, "blurred") and classifier.batches == [1]
    assert pipeline.unreadable == 5 and pipeline.classified == 1


def test_detect_every_n_frames_carries_tracks_and_classifies_each_once_a_second():
    detector = _Faces(_astronaut_faces(), speed=6.0)  # 6 px per detection = 20 px/s at N=3
    classifier = _Counting()
    pipeline = FramePipeline(detector, classifier, IouTracker(), reclassify=1.0, detect_every=3)
    fps, frames = 10.0, 45
    out = [pipeline.process(i / fps, _frame()) for i in range(frames)]
    assert detector.calls == 15  # every third frame
    assert all([o[0] for o in obs] == [0, 1] for obs in out)  # the same two tracks throughout
    assert sum(classifier.batches) >= 2 * 4  # each at 0, 1, 2, 3 s (4.4 s of video)
    assert pipeline.max_staleness < 1.0
    assert pipeline.faces == 2 * frames and pipeline.detections == 15


def test_tracker_predicts_motion_between_detections():
    tracker = IouTracker(iou_threshold=0.3)
    ids = {tracker.match(t / 10, [(8.0 * t, 0.0, 30.0, 30.0)])[0].track_id for t in range(4)}
    assert len(ids) == 1
    (track,) = tracker.tracks
    assert track.velocity[0] > 50  # px/s, towards the measured 80
    tracker.carry([track], 0.4)  # a frame without detection
    assert track.box[0] == pytest.approx(24.0 + track.velocity[0] * 0.1)
    # 0.3 s later the face moved 24 px: its old box overlaps the new by IoU 0.11 < 0.3, the
    # predicted one by much more, so the track continues
    (again,) = tracker.match(0.6, [(48.0, 0.0, 30.0, 30.0)])
    assert again.track_id in ids


def test_window_counts_unreadable_faces_apart_and_shares_readable_ones():
    agg = WindowAggregator(10, 3, LABELS, SHA)
    agg.advance(0.0)
    for _ in range(4):
        agg.frame(processed=True)
        agg.faces(
            [
                (1, 3, 0.9, None),
                (2, 3, 0.8, None),
                (3, 4, 0.7, None),
                (4, None, 0.0, "small"),
                (5, None, 0.0, "down"),
            ]
        )
    (record,) = agg.advance(10.0)
    assert record.face_observations == 20 and record.tracks == 5
    assert (record.faces_readable, record.faces_unreadable) == (12, 8)
    assert record.unreadable == {"small": 4, "down": 4}
    assert record.readable_tracks == 3 and not record.suppressed
    assert sum(record.counts.values()) == 12
    assert record.shares["happy"] == pytest.approx(2 / 3, abs=1e-3)
    assert record.mean_confidence == pytest.approx(0.8, abs=1e-3)
    # five people present but only two readable: the class figures are withheld
    for _ in range(4):
        agg.frame(processed=True)
        agg.faces([(1, 3, 0.9), (2, 3, 0.9), *[(k, None, 0.0, "turned") for k in (3, 4, 5)]])
    (record,) = agg.advance(20.0)
    assert record.tracks == 5 and record.readable_tracks == 2
    assert record.suppressed and record.shares is None and record.counts is None


def test_config_checks_the_new_options():
    from fer_edge.config import build_config
    from fer_edge.contract.errors import ConfigError

    config = build_config(None, {"camera": "0", "detect_every": 3, "max_yaw": 30.0})
    assert config.quality_gate == QualityGate(24.0, 30.0, 25.0, 0.5)
    with pytest.raises(ConfigError, match="detect-every 0"):
        build_config(None, {"camera": "0", "detect_every": 0})
    with pytest.raises(ConfigError, match="longer than track-max-age"):
        build_config(None, {"camera": "0", "detect_every": 5, "max_fps": 2.0})
    with pytest.raises(ConfigError, match="max-yaw 120.0"):
        build_config(None, {"camera": "0", "max_yaw": 120.0})
