"""Frame sources: live cameras (loss, stall, reconnection), video files, picamera2."""

from __future__ import annotations

import time

import numpy as np
import pytest

from fer_edge.capture.devices import open_source
from fer_edge.capture.events import DROPPED, FOUND, FRAME, HEARTBEAT, LOST, RETRYING, SourceLost
from fer_edge.capture.filesource import FileSource
from fer_edge.contract.errors import ConfigError
from fer_edge.record.timeutil import parse_iso
from helpers.clips import START
from helpers.fakes import T0, frames, live, scripted_opener


def collect(source, want, limit=5.0, until=None):
    """Every event until ``want`` frames (or one of kind ``until``) arrived, or ``limit`` s."""
    events, deadline = [], time.monotonic() + limit
    for event in source:
        events.append(event)
        got = sum(e.kind == FRAME for e in events)
        if got >= want or event.kind == until or time.monotonic() > deadline:
            source.close()
    return events


def pixels(events):
    return [int(e.frame[0, 0, 0]) for e in events if e.kind == FRAME]


def gap_events(events):
    return [e for e in events if e.kind in (LOST, FOUND)]


def test_disconnect_then_reconnect_records_one_gap_and_no_invented_frames():
    source = live(scripted_opener(frames(3) + ["fail"], None, frames(3, value=100)))
    events = collect(source, 6)
    assert pixels(events) == [0, 1, 2, 100, 101, 102]
    lost, found = gap_events(events)
    stamps = [e.ts for e in events if e.kind == FRAME]
    assert (lost.kind, lost.ts) == (LOST, stamps[2])  # the gap begins at the last frame
    assert (found.kind, found.ts) == (FOUND, stamps[3])  # and ends with the next one
    assert lost.why == "read failed"
    assert lost.problem == "fake: read failed; next attempt in 0.01 s"
    between = events[events.index(lost) + 1 : events.index(found)]
    assert between[0].kind == RETRYING  # alive and reopening, not hung
    assert {e.kind for e in between} <= {RETRYING, HEARTBEAT}  # no frame is invented
    retrying = {e.problem for e in between if e.kind == RETRYING}
    assert "fake: cannot open the camera; next attempt in 0.02 s" in retrying
    assert all(e.frame is None for e in events if e.kind != FRAME)


def test_stall_counts_as_lost_and_the_camera_is_reopened():
    source = live(scripted_opener(frames(2) + [("stall", 0.8)], frames(2, value=50)))
    events = collect(source, 4)
    assert pixels(events) == [0, 1, 50, 51]  # the stalled read's frame is dropped
    assert [e.kind for e in gap_events(events)] == [LOST, FOUND]
    assert gap_events(events)[0].problem == "fake: no frame for 0.3 s; reopening"


def test_frames_a_slow_reader_missed_are_reported_as_dropped():
    source = live(scripted_opener(frames(20)), frame_timeout=5.0)
    events = []
    for event in source:  # the device ends after 20 frames (read failed): a lost event
        events.append(event)
        if event.kind == LOST:
            source.close()
        time.sleep(0.06 if event.kind == FRAME else 0)  # the camera delivers every 0.02 s
    dropped = [i for i, e in enumerate(events) if e.kind == DROPPED]
    assert dropped and all(events[i + 1].kind == FRAME for i in dropped)
    assert all(events[i].ts == events[i + 1].ts for i in dropped)  # counted in the frame's time
    assert sum(events[i].count for i in dropped) + len(pixels(events)) == 20


def test_stall_without_reconnect_raises():
    source = live(scripted_opener(frames(1) + [("stall", 1.0)]), reconnect=False)
    with pytest.raises(SourceLost, match="no frame for 0.3 s"):
        collect(source, 5)


def test_resolution_change_passes_frames_through():
    source = live(scripted_opener(frames(2) + frames(2, shape=(8, 6, 3), value=9)))
    got = [e.frame for e in collect(source, 4) if e.kind == FRAME]
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
    assert not source.live
    events = list(source)
    assert {e.kind for e in events} == {FRAME}  # a file has nothing but frames
    assert [e.ts for e in events] == pytest.approx([T0 + i / 10 for i in range(10)])


def test_source_file_start_defaults_to_mtime(tmp_path):
    clip = write_clip(tmp_path / "c.avi")
    assert FileSource(clip).start == float(int(clip.stat().st_mtime))
    assert parse_iso(START) == FileSource(clip, start=parse_iso(START)).start


def test_picamera2_off_a_pi_says_what_to_install():
    with pytest.raises(ConfigError, match="apt install python3-picamera2.*system-site-packages"):
        open_source("picamera2")
