"""Window aggregation: counts, shares, min-group suppression, camera gaps."""

from __future__ import annotations

import numpy as np
import pytest

from fer_edge.classify.shares import ShareEstimator
from fer_edge.contract.labels import LABELS
from fer_edge.record.aggregate import WindowAggregator
from helpers.fakes import SHA, T0, feed


def test_windows_counts_shares_and_min_group_suppression():
    agg = WindowAggregator(10, 5, LABELS, SHA, origin=T0, source="file")
    out = []
    for i in range(10):
        out += feed(agg, T0 + i, range(6), label=3 if i < 5 else 4)
    for i in range(10, 20):
        out += feed(agg, T0 + i, range(3))
    out += agg.advance(T0 + 20)
    full, small = out
    assert (full.start, full.end) == (T0, T0 + 10)  # epoch seconds: the log formats them
    assert full.tracks == 6 and full.face_observations == 60 and full.faces_max == 6
    assert full.counts["happy"] == 30 and full.shares["neutral"] == 0.5
    assert full.mean_confidence == pytest.approx(0.9)
    assert not full.suppressed and full.model_sha256 == SHA
    assert small.suppressed and small.tracks == 3
    assert (small.counts, small.shares, small.mean_confidence) == (None, None, None)
    assert not {"counts", "shares", "mean_confidence"} & small.to_dict().keys()


def test_camera_gap_is_counted_not_filled_and_partial_flush():
    agg = WindowAggregator(10, 1, LABELS, SHA)
    feed(agg, T0, [1])
    agg.camera_lost(T0 + 1)
    out = agg.advance(T0 + 25)  # two windows pass while the camera is gone
    agg.camera_found(T0 + 25)
    feed(agg, T0 + 25, [1])
    last = agg.flush(T0 + 27)
    assert [r.camera.status for r in out] == ["gaps", "gaps"]
    assert out[0].camera.gap_seconds == pytest.approx(9)
    assert out[1].frames_seen == 0 and out[1].camera.gap_seconds == pytest.approx(10)
    assert last.partial and last.camera.gap_seconds == pytest.approx(5)
    assert last.frames_processed == 1


def test_one_frame_tracks_do_not_count_towards_min_group():
    agg = WindowAggregator(10, 5, LABELS, SHA, origin=T0)
    feed(agg, T0, range(4))
    feed(agg, T0 + 1, list(range(4)) + [99])  # a one-frame flicker: not a fifth person
    (record,) = agg.advance(T0 + 10)
    assert record.tracks == 4 and record.suppressed
    assert record.face_observations == 9 and record.faces_max == 5


def _calibrated_card():
    from fer_edge.contract.card import ModelCard
    from fer_edge.contract.recipe import CropRecipe

    confusion = np.eye(7, dtype=int) * 60 + 5  # 95 faces a class, 63 % right
    mean = confusion / confusion.sum(axis=1, keepdims=True)
    size = {"n": int(confusion.sum()), "confusion": confusion.tolist(), "mean_probs": mean.tolist()}
    return ModelCard(
        "m.tflite", "tflite", SHA, CropRecipe(32), calibration={"sizes": {"native": size}}
    )


def _observe(agg, ts, rows):
    """One frame: each track (id, probabilities) with a 40 px crop."""
    agg.advance(ts)
    agg.frame(processed=True)
    agg.faces([(t, int(np.argmax(p)), float(max(p)), None, np.asarray(p), 40.0) for t, p in rows])


def test_shares_are_estimated_per_track_with_intervals_and_the_method():
    card = _calibrated_card()
    estimator = ShareEstimator(card, "pacc", bootstrap=100)
    agg = WindowAggregator(10, 5, LABELS, SHA, origin=T0, estimator=estimator)
    # each face reads as its class does on average in calibration
    happy, neutral = (
        np.array(card.calibration["sizes"]["native"]["mean_probs"][i]) for i in (3, 4)
    )
    for i in range(10):
        # track 0 is seen in every frame, tracks 1-5 in every frame too: six people
        _observe(agg, T0 + i, [(0, happy)] + [(t, neutral) for t in range(1, 6)])
    (record,) = agg.advance(T0 + 10)
    assert record.estimator == "pacc" and record.estimator_note is None
    assert record.prior_correction is False
    assert set(record.intervals) == set(LABELS) == set(record.shares)
    # one happy person of six, whatever the frames: a track counts once
    assert record.shares["happy"] == pytest.approx(1 / 6, abs=1e-3)
    assert record.shares["neutral"] == pytest.approx(5 / 6, abs=1e-3)
    for label, (low, high) in record.intervals.items():
        assert 0.0 <= low <= record.shares[label] <= high <= 1.0
    assert record.counts["neutral"] == 50  # counts stay observations


def test_a_model_without_calibration_records_the_fallback_and_why():
    from fer_edge.contract.card import ModelCard
    from fer_edge.contract.recipe import CropRecipe

    card = ModelCard("m.tflite", "tflite", SHA, CropRecipe(32))
    agg = WindowAggregator(10, 2, LABELS, SHA, origin=T0, estimator=ShareEstimator(card, "acc"))
    for i in range(3):
        feed(agg, T0 + i, range(4))  # old-style observations: no probabilities, one-hot rows
    (record,) = agg.advance(T0 + 10)
    assert record.estimator == "pcc"
    assert "lacks" in record.estimator_note and "fer-train calibrate" in record.estimator_note
    assert record.shares["happy"] == 1.0


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
