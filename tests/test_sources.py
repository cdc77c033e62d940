"""Frame sources: live cameras (loss, stall, reconnection), video files, picamera2."""

from __future__ import annotations

import time

import numpy as np
import pytest
from fakes import T0, frames, live, scripted_opener

from conftest import START
from fer_edge.capture.sources import FileSource, SourceLost, open_source
from fer_edge.contract.errors import ConfigError
from fer_edge.record.timeutil import parse_iso


class Recorder:
    def __init__(self):
        self.events = []

    def camera_lost(self, ts):
        self.events.append("lost")

    def camera_found(self, ts):
        self.events.append("found")


def collect(source, want, limit=5.0):
    got, deadline = [], time.monotonic() + limit
    for _, frame in source:
        if frame is not None:
            got.append(frame)
        if len(got) >= want or time.monotonic() > deadline:
            source.close()
    return got


def test_disconnect_then_reconnect_records_one_gap_and_no_invented_frames():
    source = live(scripted_opener(frames(3) + ["fail"], None, frames(3, value=100)))
    rec = Recorder()
    source.listener = rec
    got = collect(source, 6)
    assert [int(f[0, 0, 0]) for f in got] == [0, 1, 2, 100, 101, 102]
    assert rec.events == ["lost", "found"]
    assert source.gaps == 1


def test_stall_counts_as_lost_and_the_camera_is_reopened():
    source = live(scripted_opener(frames(2) + [("stall", 0.8)], frames(2, value=50)))
    rec = Recorder()
    source.listener = rec
    got = collect(source, 4)
    assert [int(f[0, 0, 0]) for f in got] == [0, 1, 50, 51]  # the stalled read's frame is dropped
    assert rec.events == ["lost", "found"]


def test_stall_without_reconnect_raises():
    source = live(scripted_opener(frames(1) + [("stall", 1.0)]), reconnect=False)
    with pytest.raises(SourceLost, match="no frame for 0.3 s"):
        collect(source, 5)


def test_resolution_change_passes_frames_through():
    source = live(scripted_opener(frames(2) + frames(2, shape=(8, 6, 3), value=9)))
    got = collect(source, 4)
    assert [f.shape for f in got] == [(4, 4, 3)] * 2 + [(8, 6, 3)] * 2


def write_clip(path, n=10, fps=10.0, shape=(48, 64)):
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, shape[::-1])
    for i in range(n):
        writer.write(np.full((*shape, 3), 20 * i % 255, np.uint8))
    writer.release()
    return path


def test_file_source_uses_video_time_and_ends_at_eof(tmp_path):
    clip = write_clip(tmp_path / "c.avi", n=10, fps=10.0)
    source = open_source(str(clip), start=T0)
    assert isinstance(source, FileSource) and not source.live
    stamps = [ts for ts, _ in source]
    assert stamps == pytest.approx([T0 + i / 10 for i in range(10)])


def test_source_file_start_defaults_to_mtime(tmp_path):
    clip = write_clip(tmp_path / "c.avi")
    assert FileSource(clip).start == float(int(clip.stat().st_mtime))
    assert parse_iso(START) == FileSource(clip, start=parse_iso(START)).start


def test_picamera2_off_a_pi_says_what_to_install():
    with pytest.raises(ConfigError, match="apt install python3-picamera2.*system-site-packages"):
        open_source("picamera2")
