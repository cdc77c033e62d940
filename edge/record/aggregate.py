"""Window aggregation: the only thing the daemon ever records.

One :class:`~.window.WindowRecord` per window of ``window`` seconds (``start`` and ``end`` in
epoch seconds; the log formats them): frame and face counts, distinct tracks, per-class counts
and shares of face observations (each observation counted under its track's smoothed
class), mean confidence, camera status, and whether probabilities were corrected to the model's
training class prior. Faces the quality gate found unreadable (too small, turned, looking down,
blurred) are counted apart (``faces_readable``/``faces_unreadable``, ``unreadable`` by reason);
counts, shares and mean confidence are over readable faces only. Windows with fewer than
``min_group`` distinct readable tracks are ``"suppressed": true`` and carry no class figures; a
track counts only when it was seen (readable) in at least two frames of the window.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from ..faces.quality import UNREADABLE
from .window import Camera, WindowRecord


class WindowAggregator:
    """Accumulates observations and yields a record each time a window closes.

    Windows are aligned to ``origin`` (the video's start for a file, the epoch for a live
    camera). Call :meth:`advance` with the current time before adding events for that time.
    """

    def __init__(
        self,
        window: float,
        min_group: int,
        labels: Sequence[str],
        model_sha256: str,
        origin: float = 0.0,
        source: str = "live",
        prior_correction: bool = False,
    ) -> None:
        self.window, self.min_group = float(window), int(min_group)
        self.prior_correction = prior_correction
        self.labels, self.model_sha256 = tuple(labels), model_sha256
        self.origin, self.source = origin, source
        self._start: float | None = None
        self._gap_since: float | None = None
        self._reset_counts()

    def _reset_counts(self) -> None:
        self.seen = self.processed = self.dropped = 0
        self.observations = self.faces_max = 0
        self.tracks: Counter[int] = Counter()
        self.readable_tracks: Counter[int] = Counter()
        self.readable = 0
        self.unreadable: Counter[str] = Counter()
        self.counts = [0] * len(self.labels)
        self.confidence_sum = 0.0
        self.gap_count = 1 if self._gap_since is not None else 0
        self.gap_seconds = 0.0

    def _window_start(self, ts: float) -> float:
        return self.origin + math.floor((ts - self.origin) / self.window) * self.window

    def advance(self, ts: float) -> list[WindowRecord]:
        """Close every window that ends at or before ``ts``; returns their records."""
        if self._start is None:
            self._start = self._window_start(ts)
            return []
        records = []
        while ts >= self._start + self.window:
            end = self._start + self.window
            records.append(self._record(end, partial=False))
            self._start = end
            self._reset_counts()
        return records

    def frame(self, processed: bool) -> None:
        self.seen += 1
        if processed:
            self.processed += 1
        else:
            self.dropped += 1

    def drop(self, n: int) -> None:
        """Frames the source skipped before they reached us."""
        self.seen += n
        self.dropped += n

    def faces(self, observations: Sequence[tuple]) -> None:
        """A processed frame's faces: (track id, smoothed class index, confidence) each, and
        optionally why the face is unreadable (then its class index is None)."""
        self.faces_max = max(self.faces_max, len(observations))
        for track_id, label_index, confidence, *why in observations:
            self.observations += 1
            self.tracks[track_id] += 1
            if label_index is None:
                self.unreadable[why[0] if why and why[0] else "unknown"] += 1
                continue
            self.readable += 1
            self.readable_tracks[track_id] += 1
            self.counts[label_index] += 1
            self.confidence_sum += confidence

    def camera_lost(self, ts: float) -> None:
        if self._gap_since is None:
            self._gap_since = ts
            self.gap_count += 1

    def camera_found(self, ts: float) -> None:
        if self._gap_since is not None:
            start = self._start if self._start is not None else ts
            self.gap_seconds += max(0.0, ts - max(self._gap_since, start))
            self._gap_since = None

    def flush(self, ts: float) -> WindowRecord | None:
        """The current window, cut short at ``ts`` (``partial``); None if nothing happened."""
        if self._start is None or (self.seen == 0 and self.gap_count == 0):
            return None
        end = max(ts, self._start)
        record = self._record(end, partial=True)
        self._start = None
        return record

    def _record(self, end: float, partial: bool) -> WindowRecord:
        gap_seconds = self.gap_seconds
        if self._gap_since is not None:
            gap_seconds += max(0.0, end - max(self._gap_since, self._start))
        # A track seen in one frame only (a flicker, a false detection, a broken track) is not
        # counted as a person, so fragmentation cannot lift a small group over min_group.
        needed = min(2, self.processed)
        tracks = sum(1 for n in self.tracks.values() if n >= needed)
        readable_tracks = sum(1 for n in self.readable_tracks.values() if n >= needed)
        suppressed = readable_tracks < self.min_group
        classes = {}
        if not suppressed:
            total = self.readable
            classes = {
                "counts": dict(zip(self.labels, self.counts, strict=True)),
                "shares": {
                    label: round(n / total, 4)
                    for label, n in zip(self.labels, self.counts, strict=True)
                },
                "mean_confidence": round(self.confidence_sum / total, 4),
            }
        return WindowRecord(
            start=self._start,
            end=end,
            source=self.source,
            frames_seen=self.seen,
            frames_processed=self.processed,
            frames_dropped=self.dropped,
            face_observations=self.observations,
            faces_mean=round(self.observations / self.processed, 3) if self.processed else 0.0,
            faces_max=self.faces_max,
            tracks=tracks,
            faces_readable=self.readable,
            faces_unreadable=self.observations - self.readable,
            unreadable={why: self.unreadable[why] for why in UNREADABLE if self.unreadable[why]},
            readable_tracks=readable_tracks,
            min_group=self.min_group,
            suppressed=suppressed,
            **classes,
            camera=Camera(
                status="gaps" if self.gap_count else "ok",
                gaps=self.gap_count,
                gap_seconds=round(gap_seconds, 3) if self.gap_count else 0.0,
            ),
            model_sha256=self.model_sha256,
            prior_correction=self.prior_correction,
            partial=partial,
        )
