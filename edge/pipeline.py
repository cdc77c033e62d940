"""One frame through the face pipeline: detect, crop, classify all faces at once, track."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Protocol

import numpy as np

from .card import ModelCard
from .detect import FaceDetector, crop_faces
from .tracker import IouTracker

STAGES = ("detect", "crop", "classify", "track")


class Predictor(Protocol):
    card: ModelCard

    def predict(self, crops: np.ndarray) -> np.ndarray: ...


class FramePipeline:
    """Detect faces, crop them by the card's recipe, classify them in ONE batched call, track.

    ``seconds`` accumulates the time spent in each stage; ``faces`` counts classified faces.
    Crops exist only in memory for the duration of one call.
    """

    def __init__(self, detector: FaceDetector, classifier: Predictor, tracker: IouTracker):
        self.detector, self.classifier, self.tracker = detector, classifier, tracker
        self.recipe = classifier.card.crop
        self.seconds: dict[str, float] = defaultdict(float)
        self.faces = 0
        self._shape: tuple[int, ...] | None = None

    def process(self, ts: float, frame: np.ndarray) -> list[tuple[int, int, float]]:
        """(track id, smoothed class index, confidence) for each face in ``frame``."""
        if frame.shape != self._shape:
            self.tracker.reset()  # boxes from another resolution cannot be matched
            self._shape = frame.shape
        t0 = time.perf_counter()
        faces = self.detector.detect(frame)
        t1 = time.perf_counter()
        crops = crop_faces(frame, faces, self.recipe)
        t2 = time.perf_counter()
        probs = self.classifier.predict(crops)
        t3 = time.perf_counter()
        tracks = self.tracker.update(ts, [f.box for f in faces], probs)
        t4 = time.perf_counter()
        for stage, seconds in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            self.seconds[stage] += seconds
        self.faces += len(faces)
        return [
            (track.track_id, track.label_index, float(p.max()))
            for track, p in zip(tracks, probs, strict=True)
        ]
