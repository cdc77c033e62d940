"""Window aggregation: counts, shares, min-group suppression, camera gaps."""

from __future__ import annotations

import pytest

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
