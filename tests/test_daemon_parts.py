"""The daemon's parts without a model: config, sources, tracker, windows, log, notify, report."""

from __future__ import annotations

import json
import os
import socket
import threading
import time

import numpy as np
import pytest
from click.testing import CliRunner

from fer_edge.capture.sources import FileSource, LiveSource, SourceLost, open_source
from fer_edge.cli import main
from fer_edge.config import build_config
from fer_edge.contract.errors import ConfigError
from fer_edge.contract.labels import LABELS
from fer_edge.faces.tracker import IouTracker, iou
from fer_edge.record.aggregate import WindowAggregator
from fer_edge.record.jsonl import JsonlLog, log_path, read_records
from fer_edge.record.report import write_report
from fer_edge.record.timeutil import iso, parse_iso
from fer_edge.service.notify import Notifier

SHA = "ab" * 32
T0 = parse_iso("2026-01-05T08:00:00Z")


# -- config ------------------------------------------------------------------------------------
def test_toml_then_flags_override(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('model = "m.tflite"\ncamera = 2\nwindow = 30\nmin-group = 7\n')
    config = build_config(cfg, {"window": 10.0, "camera": None})
    assert (config.model, config.camera, config.window, config.min_group) == (
        "m.tflite",
        "2",
        10,
        7,
    )


@pytest.mark.parametrize(
    "text, needle",
    [
        ('model = "m"\nwindoww = 3\n', "windoww"),
        ('model = "m"\nwindow = "long"\n', "window must be float"),
        ('model = "m"\nmin_group = 0\n', "min-group 0"),
        ('model = "m"\ndetector = "dlib"\n', "detector"),
        ("model = \n", "invalid TOML"),
        ("prior_correction = 1\n", "prior_correction must be true or false"),
    ],
)
def test_bad_config_names_the_problem_and_exits_78(tmp_path, text, needle):
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=needle):
        build_config(cfg)
    result = CliRunner().invoke(main, ["check-config", str(cfg)])
    assert result.exit_code == 78
    assert needle in result.output and result.output.count("\n") == 1


def test_check_config_ok_and_default_model(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(main, ["check-config", "--model", "m.tflite", "--window", "5"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout.split("configuration OK")[0])["window"] == 5.0
    default = runner.invoke(main, ["check-config", "--no-prior-correction"])
    assert default.exit_code == 0, default.output
    settings = json.loads(default.stdout.split("configuration OK")[0])
    assert settings["model"] is None and settings["prior_correction"] is False
    bad = runner.invoke(main, ["check-config", "--model", "m", "--camera", "/nope.avi"])
    assert bad.exit_code == 78 and "/nope.avi" in bad.output


def test_run_with_bad_config_exits_78_without_touching_anything(tmp_path):
    result = CliRunner().invoke(
        main, ["run", "--model", "m.tflite", "--camera", str(tmp_path / "missing.avi")]
    )
    assert result.exit_code == 78
    assert "missing.avi" in result.output


# -- sources -----------------------------------------------------------------------------------
class Recorder:
    def __init__(self):
        self.events = []

    def camera_lost(self, ts):
        self.events.append("lost")

    def camera_found(self, ts):
        self.events.append("found")


class ScriptedDevice:
    """Reads frames from a script: an ndarray, 'fail' (read error) or ('stall', seconds)."""

    def __init__(self, script):
        self.script, self.released = list(script), False

    def read(self):
        if not self.script:
            time.sleep(0.01)
            return False, None
        step = self.script.pop(0)
        if isinstance(step, tuple):
            time.sleep(step[1])
            return True, np.zeros((4, 4, 3), np.uint8)
        if isinstance(step, str):
            return False, None
        time.sleep(0.02)
        return True, step

    def release(self):
        self.released = True


def scripted_opener(*scripts):
    queue = list(scripts)

    def opener():
        return ScriptedDevice(queue.pop(0)) if queue else None

    return opener


def frames(n, shape=(4, 4, 3), value=0):
    return [np.full(shape, value + i, np.uint8) for i in range(n)]


def collect(source, want, limit=5.0):
    got, deadline = [], time.monotonic() + limit
    for _, frame in source:
        if frame is not None:
            got.append(frame)
        if len(got) >= want or time.monotonic() > deadline:
            source.close()
    return got


def live(opener, **kw):
    kw = {"frame_timeout": 0.3, "tick": 0.05, "backoff_start": 0.01, "reconnect_max": 0.05, **kw}
    return LiveSource(opener, "fake", **kw)


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


def test_picamera2_off_a_pi_says_what_to_install():
    with pytest.raises(ConfigError, match="apt install python3-picamera2.*system-site-packages"):
        open_source("picamera2")


# -- tracker -----------------------------------------------------------------------------------
def onehot(*indices):
    probs = np.full((len(indices), 7), 0.01, np.float32)
    probs[np.arange(len(indices)), indices] = 0.94
    return probs


def test_tracker_links_moving_faces_and_smooths_a_one_frame_flip():
    tracker = IouTracker(iou_threshold=0.3, max_age=1.0, alpha=0.3)
    a = tracker.update(0.0, [(0, 0, 10, 10), (50, 50, 10, 10)], onehot(3, 4))
    b = tracker.update(0.1, [(51, 50, 10, 10), (1, 0, 10, 10)], onehot(0, 3))  # face 2 flips
    assert [t.track_id for t in b] == [a[1].track_id, a[0].track_id]
    assert b[0].label_index == 4  # smoothed: one frame of "anger" does not flip "neutral"
    c = tracker.update(5.0, [(1, 0, 10, 10)], onehot(3))
    assert c[0].track_id not in {a[0].track_id, a[1].track_id}  # too old: a new track
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(1 / 3)


# -- aggregation -------------------------------------------------------------------------------
def feed(agg, ts, tracks, label=3, conf=0.9):
    records = agg.advance(ts)
    agg.frame(processed=True)
    agg.faces([(t, label, conf) for t in tracks])
    return records


def test_windows_counts_shares_and_min_group_suppression():
    agg = WindowAggregator(10, 5, LABELS, SHA, origin=T0, source="file")
    out = []
    for i in range(10):
        out += feed(agg, T0 + i, range(6), label=3 if i < 5 else 4)
    for i in range(10, 20):
        out += feed(agg, T0 + i, range(3))
    out += agg.advance(T0 + 20)
    full, small = out
    assert (full["start"], full["end"]) == (iso(T0), iso(T0 + 10))
    assert full["tracks"] == 6 and full["face_observations"] == 60 and full["faces_max"] == 6
    assert full["counts"]["happy"] == 30 and full["shares"]["neutral"] == 0.5
    assert full["mean_confidence"] == pytest.approx(0.9)
    assert not full["suppressed"] and full["model_sha256"] == SHA
    assert small["suppressed"] and small["tracks"] == 3
    assert not {"counts", "shares", "mean_confidence"} & small.keys()


def test_camera_gap_is_counted_not_filled_and_partial_flush():
    agg = WindowAggregator(10, 1, LABELS, SHA)
    feed(agg, T0, [1])
    agg.camera_lost(T0 + 1)
    out = agg.advance(T0 + 25)  # two windows pass while the camera is gone
    agg.camera_found(T0 + 25)
    feed(agg, T0 + 25, [1])
    last = agg.flush(T0 + 27)
    assert [r["camera"]["status"] for r in out] == ["gaps", "gaps"]
    assert out[0]["camera"]["gap_seconds"] == pytest.approx(9)
    assert out[1]["frames_seen"] == 0 and out[1]["camera"]["gap_seconds"] == pytest.approx(10)
    assert last["partial"] and last["camera"]["gap_seconds"] == pytest.approx(5)
    assert last["frames_processed"] == 1


# -- log ---------------------------------------------------------------------------------------
def record(start=T0):
    return {"start": iso(start), "end": iso(start + 60), "x": 1}


def test_log_torn_line_is_terminated_and_skipped(tmp_path):
    path = log_path(tmp_path, "2026-01-05")
    path.write_text('{"start":"2026-01-05T07:00:00.000Z"}\n{"start":"2026-01-05T07:0')
    log = JsonlLog(tmp_path)
    assert log.write(record()) and log.write(record(T0 + 60))
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and lines[1].endswith(":0")
    assert [r["start"] for r in read_records(tmp_path)] == [
        "2026-01-05T07:00:00.000Z",
        iso(T0),
        iso(T0 + 60),
    ]


def test_log_one_file_per_utc_day(tmp_path):
    log = JsonlLog(tmp_path)
    log.write(record(T0))
    log.write(record(T0 + 86400))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "fer-edge-2026-01-05.jsonl",
        "fer-edge-2026-01-06.jsonl",
    ]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_full_disk_drops_and_counts_records(tmp_path):
    log_path(tmp_path, "2026-01-05").symlink_to("/dev/full")
    log = JsonlLog(tmp_path)
    assert not log.write(record()) and not log.write(record())
    assert log.dropped == 2 and "No space left" in log.last_error
    assert log.write(record(T0 + 86400)) and log.written == 1  # another day's file works


def test_prune_by_age(tmp_path):
    old, new = log_path(tmp_path, "2025-01-01"), log_path(tmp_path, "2026-01-05")
    old.write_text("{}\n")
    new.write_text("{}\n")
    os.utime(old, (T0 - 100 * 86400, T0 - 100 * 86400))
    os.utime(new, (T0, T0))
    assert JsonlLog(tmp_path, keep_days=30).prune(now=T0 + 60) == [old]
    assert new.exists()


# -- notify ------------------------------------------------------------------------------------
def test_notify_sends_to_a_datagram_socket_and_rate_limits_the_watchdog(tmp_path):
    address = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(address)
        server.settimeout(1)
        now = [0.0]
        notifier = Notifier({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "2000000"}, lambda: now[0])
        notifier.ready("up")
        notifier.watchdog()
        notifier.watchdog()  # within 1 s: not sent
        now[0] = 1.5
        notifier.watchdog()
        notifier.stopping()
        got = [server.recv(4096).decode() for _ in range(4)]
    assert got == ["READY=1\nSTATUS=up", "WATCHDOG=1", "WATCHDOG=1", "STOPPING=1"]


def test_notify_abstract_socket_and_absent_socket():
    name = f"fer-edge-test-{os.getpid()}-{threading.get_ident()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind("\0" + name)
        server.settimeout(1)
        Notifier({"NOTIFY_SOCKET": "@" + name}).status("multi\nline")
        assert server.recv(4096) == b"STATUS=multi line"
    assert Notifier({}).send("READY=1") is False


# -- report ------------------------------------------------------------------------------------
def test_report_csv_html_show_suppressed_windows_as_gaps(tmp_path):
    agg = WindowAggregator(10, 5, LABELS, SHA, origin=T0)
    out = []
    for i in range(10):
        out += feed(agg, T0 + i, range(6))
    for i in range(10, 20):
        out += feed(agg, T0 + i, range(2))
    out += agg.advance(T0 + 20)
    log = JsonlLog(tmp_path / "logs")
    log.prepare()
    for r in out:
        log.write(r)
    assert write_report(tmp_path / "logs", tmp_path / "r.csv") == 2
    rows = (tmp_path / "r.csv").read_text().splitlines()
    assert rows[1].split(",")[2:4] == ["False", "False"] and rows[1].endswith(
        ",0.0,1.0,0.0,0.0,0.0"
    )
    assert rows[2].split(",")[2] == "True" and rows[2].endswith(",,,,,,,")
    write_report(tmp_path / "logs", tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert "suppressed" in page and "happy: 100.0%" in page
    result = CliRunner().invoke(main, ["report", "--log-dir", str(tmp_path), "--out", "x.txt"])
    assert result.exit_code != 0


# -- the daemon over a live source that drops out ------------------------------------------------
class NoFaces:
    name = "none"

    def detect(self, image):
        return []


def test_daemon_records_a_camera_gap_from_a_live_source(tmp_path):
    from fer_edge.contract.card import ModelCard
    from fer_edge.contract.recipe import CropRecipe
    from fer_edge.daemon import Daemon

    class Classifier:
        card = ModelCard("fake.tflite", "tflite", SHA, CropRecipe(size=32))

        def predict(self, crops):
            return np.empty((0, 7), np.float32)

    source = live(scripted_opener(frames(5) + ["fail"], None, None, frames(5)))
    config = build_config(None, {"model": "m", "log_dir": str(tmp_path), "max_frames": 10})
    summary = Daemon(config, classifier=Classifier(), detector=NoFaces(), source=source).run()
    assert summary.frames_seen == 10 and summary.stopped_by == "max-frames"
    records = list(read_records(tmp_path))
    assert sum(r["frames_seen"] for r in records) == 10
    assert records[-1]["partial"] and all(r["source"] == "live" for r in records)
    assert sum(r["camera"]["gaps"] for r in records) >= 1
    assert all(r["suppressed"] for r in records)  # no faces, no class figures


def test_reclassify_interval_reuses_a_tracks_class_between_calls():
    from fer_edge.contract.card import ModelCard
    from fer_edge.contract.recipe import CropRecipe
    from fer_edge.faces.detect import Face
    from fer_edge.pipeline import FramePipeline

    class TwoFaces:
        name = "fixed"

        def detect(self, image):
            return [Face((0, 0, 20, 20), 0.9), Face((40, 0, 20, 20), 0.9)]

    class Counting:
        card = ModelCard("fake.tflite", "tflite", SHA, CropRecipe(size=16))
        batches: list = []

        def predict(self, crops):
            self.batches.append(len(crops))
            return onehot(*([5] * len(crops)))

    classifier = Counting()
    pipeline = FramePipeline(TwoFaces(), classifier, IouTracker(), reclassify=1.0)
    frame = np.zeros((40, 80, 3), np.uint8)
    out = [pipeline.process(i / 10, frame) for i in range(25)]  # 2.5 s at 10 fps
    assert classifier.batches == [2, 2, 2]  # at 0, 1 and 2 s; no call without crops
    assert all([label for _, label, *_ in obs] == [5, 5] for obs in out)
    assert (pipeline.faces, pipeline.classified) == (50, 6)


def test_one_frame_tracks_do_not_count_towards_min_group():
    agg = WindowAggregator(10, 5, LABELS, SHA, origin=T0)
    feed(agg, T0, range(4))
    feed(agg, T0 + 1, list(range(4)) + [99])  # a one-frame flicker: not a fifth person
    (record,) = agg.advance(T0 + 10)
    assert record["tracks"] == 4 and record["suppressed"]
    assert record["face_observations"] == 9 and record["faces_max"] == 5
