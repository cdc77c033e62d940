"""A window's class shares from its tracks: per-track mean probabilities, then the estimator.

Each readable track contributes one row, its mean smoothed probabilities over the window's
frames (and its mean crop side, for the calibration's face size), so a student seen in 300
frames and one seen in 3 count once each. :class:`fer_edge.classify.shares.ShareEstimator`
turns the rows into shares with 90 % intervals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..classify.shares import ShareEstimator


class TrackMeans:
    """Sums of each track's probabilities and crop sides over one window."""

    def __init__(self, classes: int) -> None:
        self.classes = classes
        self._sums: dict[int, list] = {}

    def clear(self) -> None:
        self._sums = {}

    def add(self, track_id: int, label_index: int, probs=None, side: float | None = None) -> None:
        """One readable observation; without ``probs`` its class counts as certain."""
        if probs is None:
            row = np.zeros(self.classes)
            row[label_index] = 1.0
        else:
            row = np.asarray(probs, float)
        entry = self._sums.setdefault(track_id, [np.zeros(self.classes), 0.0, 0, 0])
        entry[0] += row
        if side is not None:
            entry[1] += float(side)
            entry[3] += 1
        entry[2] += 1

    def rows(self, track_ids: Iterable[int]) -> tuple[np.ndarray, np.ndarray | None]:
        """Mean probabilities (T, C) of ``track_ids`` and their mean crop sides (None when
        no observation gave one)."""
        entries = [self._sums[t] for t in track_ids if t in self._sums]
        if not entries:
            return np.zeros((0, self.classes)), None
        probs = np.array([e[0] / e[2] for e in entries])
        if any(e[3] == 0 for e in entries):
            return probs, None
        return probs, np.array([e[1] / e[3] for e in entries])


def share_fields(
    estimator: ShareEstimator,
    labels: Sequence[str],
    probs: np.ndarray,
    face_px: np.ndarray | None,
) -> dict:
    """The record's ``shares``, ``intervals`` (90 %), ``estimator`` (the method used),
    ``estimator_note`` (why it is not the one configured) and ``prior_correction``."""
    est = estimator.estimate(probs, face_px)
    fields: dict = {
        "shares": {k: round(float(v), 4) for k, v in zip(labels, est.shares, strict=True)},
        "intervals": {
            k: [round(float(lo), 4), round(float(hi), 4)]
            for k, lo, hi in zip(labels, est.low, est.high, strict=True)
        },
        "estimator": est.method,
        "prior_correction": estimator.prior_correction and est.method in ("cc", "pcc"),
    }
    if est.note:
        fields["estimator_note"] = est.note
    return fields
