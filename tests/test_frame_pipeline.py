"""One frame through the pipeline: detect, track, gate, classify at the reclassify interval,
detection every n-th frame, faces cropped from the full frame rather than the detection copy."""

from __future__ import annotations

import cv2
import numpy as np
from scenes import ASTRONAUT_FACE, astronaut

from fer_edge.contract.card import ModelCard
from fer_edge.contract.recipe import CropRecipe
from fer_edge.faces.detect import Face
from fer_edge.faces.quality import QualityGate
from fer_edge.faces.scale import DownscaledDetector
from fer_edge.faces.tracker import IouTracker
from fer_edge.frame_pipeline import FramePipeline
from helpers.fakes import SHA, Fixed, onehot
from helpers.landmarks import marks


def test_reclassify_interval_reuses_a_tracks_class_between_calls():
    class TwoFaces:
        name = "fixed"

        def detect(self, image):
            return [Face((0, 0, 20, 20), 0.9), Face((40, 0, 20, 20), 0.9)]

    class Counting:
        card = ModelCard("fake.tflite", "tflite", SHA, CropRecipe(size=16))
        batches: list = []

        def predict(self, crops):
            self.batches.append(len(crops))
            return onehot(*([5] * len(crops)))

    classifier = Counting()
    pipeline = FramePipeline(TwoFaces(), classifier, IouTracker(), reclassify=1.0)
    frame = np.zeros((40, 80, 3), np.uint8)
    out = [pipeline.process(i / 10, frame) for i in range(25)]  # 2.5 s at 10 fps
    assert classifier.batches == [2, 2, 2]  # at 0, 1 and 2 s; no call without crops
    assert all([label for _, label, *_ in obs] == [5, 5] for obs in out)
    assert (pipeline.faces, pipeline.classified) == (50, 6)


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
        out.append(Face(box, 0.9, marks(offset=box[:2], scale=s)))
    return out


def test_pipeline_leaves_unreadable_faces_unclassified():
    tiny = Face((500, 300, 12, 15), 0.9, marks(offset=(500, 300), scale=12 / 90))
    turned = _astronaut_faces(xs=(300,))[0]
    turned = Face(turned.box, 0.9, marks(offset=turned.box[:2], scale=0.4, nose_dx=0.45))
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
