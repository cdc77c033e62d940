"""The IoU tracker and its smoothing."""

from __future__ import annotations

import pytest

from fer_edge.faces.tracker import IouTracker, iou
from helpers.fakes import onehot


def test_tracker_links_moving_faces_and_smooths_a_one_frame_flip():
    tracker = IouTracker(iou_threshold=0.3, max_age=1.0, alpha=0.3)
    a = tracker.update(0.0, [(0, 0, 10, 10), (50, 50, 10, 10)], onehot(3, 4))
    b = tracker.update(0.1, [(51, 50, 10, 10), (1, 0, 10, 10)], onehot(0, 3))  # face 2 flips
    assert [t.track_id for t in b] == [a[1].track_id, a[0].track_id]
    assert b[0].label_index == 4  # smoothed: one frame of "anger" does not flip "neutral"
    c = tracker.update(5.0, [(1, 0, 10, 10)], onehot(3))
    assert c[0].track_id not in {a[0].track_id, a[1].track_id}  # too old: a new track
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(1 / 3)


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
