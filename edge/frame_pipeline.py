"""One frame through the face pipeline: detect, crop, classify all faces at once, track."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Protocol

import numpy as np

from .contract.card import ModelCard
from .faces import motion
from .faces.crop import crop_faces
from .faces.detect import Face, FaceDetector
from .faces.quality import QualityGate
from .faces.tracker import IouTracker, Track

STAGES = ("detect", "crop", "classify", "track")


class Predictor(Protocol):
    card: ModelCard

    def predict(self, crops: np.ndarray) -> np.ndarray: ...


class FramePipeline:
    """Detect faces, track them, crop and classify them in ONE batched call.

    Probabilities are smoothed per track as the model gives them; how they become class shares
    (and any prior correction) is decided by the window's estimator
    (:mod:`.classify.shares`). With ``reclassify`` > 0 a track is
    classified again only after that many seconds (its smoothed class is reused in between),
    which cuts classification cost on slow devices; a track is also classified when it is new
    or its box moved or resized by a quarter of its width since its last classification.
    With ``detect_every`` N > 1 the detector runs on every Nth frame and the tracks are carried
    by their velocity in between (see :mod:`.motion`); tracks due for classification are
    classified on those frames too, at their predicted boxes. With ``gate`` (see
    :mod:`.faces.quality`) faces too small, turned, looking down or blurred are not classified and
    are reported as unreadable.
    ``seconds`` accumulates the time spent in each stage; ``faces`` counts faces (detected or
    carried), ``classified`` the crops sent to the model, ``unreadable`` the unreadable faces
    and ``max_staleness`` the longest time a readable face was reported since its last
    classification. Crops exist only in memory, within one call.
    """

    def __init__(
        self,
        detector: FaceDetector,
        classifier: Predictor,
        tracker: IouTracker,
        reclassify: float = 0.0,
        detect_every: int = 1,
        gate: QualityGate | None = None,
    ):
        self.detector, self.classifier, self.tracker = detector, classifier, tracker
        self.reclassify = reclassify
        self.detect_every, self.gate = max(1, int(detect_every)), gate
        self.recipe = classifier.card.crop
        self.seconds: dict[str, float] = defaultdict(float)
        self.faces = self.classified = self.unreadable = self.detections = 0
        self.max_staleness = 0.0
        self._shape: tuple[int, ...] | None = None
        self._live: list[Track] = []
        self._frame = 0

    def _due(self, track: Track, ts: float) -> bool:
        return track.unreadable is None and (
            track.probs is None
            or ts - track.classified_at >= self.reclassify - 1e-6  # float timestamps
            or motion.changed(track.classified_box, track.box)
        )

    def process(self, ts: float, frame: np.ndarray) -> list[tuple]:
        """(track id, smoothed class index, confidence, None, smoothed probabilities, crop
        side in px) for each readable face in ``frame``; (track id, None, 0.0, why) for each
        unreadable one."""
        if frame.shape != self._shape:
            self.tracker.reset()  # boxes from another resolution cannot be matched
            self._shape, self._live, self._frame = frame.shape, [], 0
        t0 = time.perf_counter()
        if self._frame % self.detect_every == 0:
            faces = self.detector.detect(frame)
            self.detections += 1
            t1 = time.perf_counter()
            tracks = self.tracker.match(ts, [f.box for f in faces])
            for track, face in zip(tracks, faces, strict=True):
                track.landmarks = face.landmarks
                track.unreadable = self.gate.before_crop(face) if self.gate else None
            self._live = tracks
        else:
            t1 = t0
            tracks = self._live
            self.tracker.carry(tracks, ts)
        self._frame += 1
        due = [t for t in tracks if self._due(t, ts)]
        t2 = time.perf_counter()
        faces = [Face(t.box, 1.0, t.landmarks) for t in due]
        if self.gate is not None and due:
            for track, face in zip(due, faces, strict=True):
                track.unreadable = self.gate.on_pixels(frame, face)
            faces = [f for t, f in zip(due, faces, strict=True) if t.unreadable is None]
            due = [t for t in due if t.unreadable is None]
        crops = crop_faces(frame, faces, self.recipe)
        t3 = time.perf_counter()
        probs = self.classifier.predict(crops) if len(crops) else np.empty((0, 0), np.float32)
        t4 = time.perf_counter()
        for track, p in zip(due, probs, strict=True):
            self.tracker.observe(track, p, ts)
        observations = []
        for t in tracks:
            if t.unreadable is None and t.probs is not None:
                self.max_staleness = max(self.max_staleness, ts - t.classified_at)
                side = max(t.box[2], t.box[3]) * (1.0 + 2.0 * self.recipe.margin)
                observations.append((t.track_id, t.label_index, t.confidence, None, t.probs, side))
            else:
                observations.append((t.track_id, None, 0.0, t.unreadable))
        t5 = time.perf_counter()
        for stage, seconds in zip(
            STAGES, (t1 - t0, t3 - t2, t4 - t3, (t2 - t1) + (t5 - t4)), strict=True
        ):
            self.seconds[stage] += seconds
        self.faces += len(tracks)
        self.classified += len(due)
        self.unreadable += sum(1 for o in observations if o[1] is None)
        return observations
