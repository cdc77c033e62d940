"""A light IoU tracker with per-track smoothing of class probabilities.

Tracks live in memory only and hold a box, a running number and smoothed probabilities:
no identities, no embeddings, no images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import motion


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    """A face followed across frames: its box and smoothed class probabilities (None until
    first classified), the time of its last classification and that call's confidence;
    its velocity (px/s), last landmarks, why it is unreadable (None: readable) and the box it
    was last classified at."""

    track_id: int
    box: tuple[float, float, float, float]
    last_seen: float
    probs: np.ndarray | None = None
    classified_at: float = float("-inf")
    confidence: float = 0.0
    velocity: tuple[float, float] = (0.0, 0.0)
    landmarks: tuple[tuple[float, float], ...] | None = None
    unreadable: str | None = None
    classified_box: tuple[float, float, float, float] | None = None
    box_ts: float | None = None  # time the box is for (None: last_seen, a detection)

    @property
    def label_index(self) -> int:
        return int(np.argmax(self.probs))


class IouTracker:
    """Greedy IoU matching; each track's probabilities are an exponential moving average.

    ``alpha`` weighs the newest classification (1.0: no smoothing). A track unseen for
    ``max_age`` seconds is forgotten.
    """

    def __init__(self, iou_threshold: float = 0.3, max_age: float = 1.0, alpha: float = 0.3):
        self.iou_threshold, self.max_age, self.alpha = iou_threshold, max_age, alpha
        self.tracks: list[Track] = []
        self._next_id = 0

    def reset(self) -> None:
        """Forget all tracks (e.g. after a camera gap or a resolution change)."""
        self.tracks = []

    def match(self, ts: float, boxes: list[tuple[float, float, float, float]]) -> list[Track]:
        """The track of each box (new tracks for unmatched boxes), in order.

        Boxes are matched against each track's box predicted to ``ts`` by its velocity; a
        matched track's velocity is updated from its move.
        """
        self.tracks = [t for t in self.tracks if ts - t.last_seen <= self.max_age]
        predicted = [motion.predict(t.box, t.velocity, ts - _box_ts(t)) for t in self.tracks]
        pairs = sorted(
            (
                (iou(predicted[ti], box), ti, fi)
                for ti, track in enumerate(self.tracks)
                for fi, box in enumerate(boxes)
            ),
            reverse=True,
        )
        assigned: dict[int, Track] = {}
        used: set[int] = set()
        for overlap, ti, fi in pairs:
            if overlap < self.iou_threshold:
                break
            if ti in used or fi in assigned:
                continue
            track = self.tracks[ti]
            seen = motion.predict(track.box, track.velocity, track.last_seen - _box_ts(track))
            track.velocity = motion.new_velocity(
                track.velocity, seen, tuple(boxes[fi]), ts - track.last_seen
            )
            track.box, track.last_seen, track.box_ts = tuple(boxes[fi]), ts, None
            assigned[fi] = track
            used.add(ti)
        for fi, box in enumerate(boxes):
            if fi not in assigned:
                track = Track(self._next_id, tuple(box), ts)
                self._next_id += 1
                self.tracks.append(track)
                assigned[fi] = track
        return [assigned[fi] for fi in range(len(boxes))]

    def carry(self, tracks: list[Track], ts: float) -> None:
        """Move ``tracks`` (boxes and landmarks) by their velocity to ``ts``: the frames
        between detections. ``last_seen`` stays at the last detection."""
        for track in tracks:
            old = track.box
            track.box = motion.predict(old, track.velocity, ts - _box_ts(track))
            track.box_ts = ts
            track.landmarks = motion.moved(
                track.landmarks, track.box[0] - old[0], track.box[1] - old[1]
            )

    def observe(self, track: Track, probs: np.ndarray, ts: float) -> None:
        """Fold one classification of ``track`` into its smoothed probabilities."""
        probs = np.asarray(probs, np.float32)
        track.probs = (
            probs if track.probs is None else (1 - self.alpha) * track.probs + (self.alpha * probs)
        )
        track.classified_at, track.confidence = ts, float(probs.max())
        track.classified_box = track.box

    def update(
        self, ts: float, boxes: list[tuple[float, float, float, float]], probs: np.ndarray
    ) -> list[Track]:
        """Match this frame's faces and fold in a classification of every one of them."""
        tracks = self.match(ts, boxes)
        for track, p in zip(tracks, probs, strict=True):
            self.observe(track, p, ts)
        return tracks


def _box_ts(track: Track) -> float:
    return track.last_seen if track.box_ts is None else track.box_ts
