"""One frame through the face pipeline: detect, crop, classify all faces at once, track."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Protocol

import numpy as np

from .classify.prior import correct
from .contract.card import ModelCard
from .faces.crop import crop_faces
from .faces.detect import FaceDetector
from .faces.tracker import IouTracker

STAGES = ("detect", "crop", "classify", "track")


class Predictor(Protocol):
    card: ModelCard

    def predict(self, crops: np.ndarray) -> np.ndarray: ...


class FramePipeline:
    """Detect faces, track them, crop and classify them in ONE batched call.

    With ``prior`` (see :mod:`.prior`) the model's probabilities are corrected to the training
    class prior before they are smoothed and counted. With ``reclassify`` > 0 a track is
    classified again only after that many seconds (its smoothed class is reused in between),
    which cuts classification cost on slow devices.
    ``seconds`` accumulates the time spent in each stage; ``faces`` counts detected faces and
    ``classified`` the crops sent to the model. Crops exist only in memory, within one call.
    """

    def __init__(
        self,
        detector: FaceDetector,
        classifier: Predictor,
        tracker: IouTracker,
        reclassify: float = 0.0,
        prior: np.ndarray | None = None,
    ):
        self.detector, self.classifier, self.tracker = detector, classifier, tracker
        self.reclassify, self.prior = reclassify, prior
        self.recipe = classifier.card.crop
        self.seconds: dict[str, float] = defaultdict(float)
        self.faces = self.classified = 0
        self._shape: tuple[int, ...] | None = None

    def process(self, ts: float, frame: np.ndarray) -> list[tuple[int, int, float]]:
        """(track id, smoothed class index, confidence) for each face in ``frame``."""
        if frame.shape != self._shape:
            self.tracker.reset()  # boxes from another resolution cannot be matched
            self._shape = frame.shape
        t0 = time.perf_counter()
        faces = self.detector.detect(frame)
        t1 = time.perf_counter()
        tracks = self.tracker.match(ts, [f.box for f in faces])
        due = [
            i
            for i, track in enumerate(tracks)
            if track.probs is None or ts - track.classified_at >= self.reclassify
        ]
        t2 = time.perf_counter()
        crops = crop_faces(frame, [faces[i] for i in due], self.recipe)
        t3 = time.perf_counter()
        probs = self.classifier.predict(crops)
        if self.prior is not None and len(probs):
            probs = correct(probs, self.prior)
        t4 = time.perf_counter()
        for i, p in zip(due, probs, strict=True):
            self.tracker.observe(tracks[i], p, ts)
        t5 = time.perf_counter()
        for stage, seconds in zip(
            STAGES, (t1 - t0, t3 - t2, t4 - t3, (t2 - t1) + (t5 - t4)), strict=True
        ):
            self.seconds[stage] += seconds
        self.faces += len(faces)
        self.classified += len(due)
        return [(t.track_id, t.label_index, t.confidence) for t in tracks]
