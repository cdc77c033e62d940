"""Live cameras and streams: loss, stall, reconnection, a camera that never opens or comes
later."""

from __future__ import annotations

import logging
import time

import pytest

from fer_edge.capture.events import DROPPED, FOUND, FRAME, HEARTBEAT, LOST, RETRYING, SourceLost
from fer_edge.capture.livesource import LiveSource
from fer_edge.config import build_config
from fer_edge.contract.errors import CameraUnavailable
from helpers.fakes import frames, live, never_opens, scripted_opener


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


def test_each_backoff_step_says_which_camera_why_and_when(caplog):
    source = LiveSource(never_opens, "camera 7", tick=0.02, backoff_start=0.05, reconnect_max=0.2)
    source.give_up = 0.6
    with caplog.at_level(logging.WARNING), pytest.raises(CameraUnavailable) as info:
        for _ in source:
            pass
    steps = [r.getMessage() for r in caplog.records if r.name == "fer_edge.capture.livesource"]
    assert len(steps) >= 4
    assert (
        steps[0] == "camera 7: /dev/video7 does not exist (not plugged in?); next attempt in 0.05 s"
    )
    assert steps[3].endswith("next attempt in 0.2 s")  # doubling, capped at reconnect-max
    assert not any("camera camera" in s for s in steps)
    assert info.value.exit_code == 69 and "no frame within 0.6 s" in str(info.value)
    assert "/dev/video7 does not exist" in str(info.value)


def test_camera_that_appears_later_is_used_and_the_wait_forever_default_off_a_terminal():
    opener = scripted_opener(None, None, frames(3))  # two failed opens, then a camera

    def flaky():
        device = opener()
        if device is None:
            raise OSError("does not exist (not plugged in?)")
        return device

    source = LiveSource(flaky, "/dev/video0", tick=0.02, backoff_start=0.05, reconnect_max=0.1)
    kinds, problems = [], []
    for event in source:
        kinds.append(event.kind)
        problems.append(event.problem)
        if kinds.count(FRAME) == 3:
            source.close()
    assert kinds.count(FRAME) == 3 and kinds.count(LOST) == 1  # one gap, however many retries
    assert kinds.index(FOUND) == kinds.index(FRAME) - 1  # the gap ends with the first frame
    assert problems[kinds.index(LOST)] == (
        "/dev/video0: does not exist (not plugged in?); next attempt in 0.05 s"
    )
    # frames (and any heartbeat between them on a slow machine) carry no problem
    assert set(problems[kinds.index(FOUND) :]) == {None}
    config = build_config(None, {"model": "m"})
    assert config.resolved_camera_wait == 0.0  # pytest's stdin is no terminal: a service
