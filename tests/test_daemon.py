"""The daemon's loop over built parts: windows from a clip, a live source that drops out or never
opens, pacing, a full disk, no TensorFlow in its process."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from fer_edge.assemble import build_pipeline
from fer_edge.capture.livesource import LiveSource
from fer_edge.config import build_config
from fer_edge.contract.card import ModelCard
from fer_edge.contract.errors import CameraUnavailable
from fer_edge.contract.recipe import CropRecipe
from fer_edge.daemon import Daemon
from fer_edge.record.jsonl import log_path, read_records
from helpers import REPO
from helpers.fakes import (
    NO_GATE,
    SHA,
    FakeClassifier,
    NoFaces,
    Notes,
    clip_config,
    frames,
    live,
    never_opens,
    scripted_opener,
)
from helpers.osfaults import daemon_env


def test_daemon_records_a_camera_gap_from_a_live_source(tmp_path):
    class Classifier:
        card = ModelCard("fake.tflite", "tflite", SHA, CropRecipe(size=32))

        def predict(self, crops):
            return np.empty((0, 7), np.float32)

    source = live(scripted_opener(frames(5) + ["fail"], None, None, frames(5)))
    config = build_config(None, {"model": "m", "log_dir": str(tmp_path), "max_frames": 10})
    notes = Notes()
    daemon = Daemon(
        build_pipeline(
            config, classifier=Classifier(), detector=NoFaces(), source=source, notifier=notes
        )
    )
    summary = daemon.run()
    assert summary.frames_seen == 10 and summary.stopped_by == "max-frames"
    records = list(read_records(tmp_path))
    assert sum(r["frames_seen"] for r in records) == 10
    assert records[-1]["partial"] and all(r["source"] == "live" for r in records)
    assert sum(r["camera"]["gaps"] for r in records) >= 1
    assert all(r["suppressed"] for r in records)  # no faces, no class figures
    statuses = [args[0] for name, *args in notes.sent if name == "status"]
    lost = next(i for i, text in enumerate(statuses) if "camera lost: fake: read failed" in text)
    assert "camera ok" in statuses[lost + 1 : -1][-1]  # the frames came back before the end
    assert statuses[-1].endswith("camera ok; stopping (max-frames)")
    assert ("watchdog",) in notes.sent


def test_the_daemon_reports_a_missing_camera_in_status_and_stays_alive_for_the_watchdog(tmp_path):
    source = LiveSource(never_opens, "camera 7", tick=0.02, backoff_start=0.05, reconnect_max=0.1)
    source.give_up = 0.5
    config = build_config(None, {"model": "m", "log_dir": str(tmp_path)})
    notes = Notes()
    daemon = Daemon(
        build_pipeline(
            config, classifier=FakeClassifier(), detector=NoFaces(), source=source, notifier=notes
        )
    )
    with pytest.raises(CameraUnavailable):
        daemon.run()
    waiting = [args for name, *args in notes.sent if name == "extending"]
    assert waiting and all(seconds >= 10 for _, seconds in waiting)  # systemd's start timeout
    assert "waiting for the first frame: camera 7: /dev/video7 does not exist" in waiting[0][0]
    assert ("watchdog",) in notes.sent  # reopening is progress, not a hang
    assert ("ready",) not in [n[:1] for n in notes.sent]


def test_daemon_windows_follow_the_video_and_are_reproducible(tmp_path, clip, yunet_model):
    runs = []
    for name in ("a", "b"):
        config = clip_config(clip, yunet_model, tmp_path / name, **NO_GATE)
        classifier = FakeClassifier()
        summary = Daemon(build_pipeline(config, classifier=classifier)).run()
        assert summary.frames_processed == 30
        assert all(n >= 12 for n in classifier.calls)  # all faces of a frame in one call
        runs.append(list(read_records(tmp_path / name)))
    assert runs[0] == runs[1]
    records = runs[0]
    assert [r["start"][11:19] for r in records] == ["08:00:00", "08:00:01", "08:00:02"]
    for r in records:
        assert r["frames_processed"] == 10 and not r["suppressed"] and "partial" not in r
        assert r["tracks"] >= 12 and r["faces_max"] >= 12
        assert sum(r["counts"].values()) == r["face_observations"]
        assert sum(r["shares"].values()) == pytest.approx(1.0, abs=1e-3)
        assert r["model_sha256"] == "ab" * 32 and r["camera"]["status"] == "ok"


def test_min_group_suppresses_small_windows(tmp_path, clip, yunet_model):
    config = clip_config(clip, yunet_model, tmp_path, min_group=40)
    Daemon(build_pipeline(config, classifier=FakeClassifier())).run()
    records = list(read_records(tmp_path))
    assert records and all(r["suppressed"] for r in records)
    assert not any({"counts", "shares", "mean_confidence"} & r.keys() for r in records)


def test_max_fps_drops_and_counts_frames(tmp_path, clip, yunet_model):
    config = clip_config(clip, yunet_model, tmp_path, window=10.0, max_fps=5.0)
    Daemon(build_pipeline(config, classifier=FakeClassifier())).run()
    (record,) = read_records(tmp_path)
    assert (record["frames_seen"], record["frames_processed"], record["frames_dropped"]) == (
        30,
        15,
        15,
    )
    assert record["partial"]  # the file ended 7 s before the window


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_full_disk_keeps_the_daemon_running(tmp_path, clip, yunet_model):
    log_path(tmp_path, "2026-01-05").symlink_to("/dev/full")
    config = clip_config(clip, yunet_model, tmp_path)
    summary = Daemon(build_pipeline(config, classifier=FakeClassifier())).run()
    assert summary.frames_processed == 30 and summary.records_dropped == 3
    assert summary.windows == 0  # a dropped record is never counted as written


@pytest.mark.tf
def test_no_tensorflow_in_the_daemon_process(tmp_path, tiny_model, clip, yunet_model):
    code = f"""
import importlib, pkgutil, sys
import fer_edge
for m in pkgutil.walk_packages(fer_edge.__path__, "fer_edge."):
    if not m.name.endswith("__main__"):
        importlib.import_module(m.name)
from fer_edge.config import build_config
from fer_edge.assemble import build_pipeline
from fer_edge.daemon import Daemon
config = build_config(None, {{"model": {str(tiny_model)!r}, "camera": {str(clip)!r},
                             "log_dir": {str(tmp_path / "logs")!r}, "window": 1.0}})
summary = Daemon(build_pipeline(config)).run()
assert summary.frames_processed == 30, summary
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras"))
print("TF-MODULES", bad)
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=daemon_env(tmp_path, yunet_model),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    assert "TF-MODULES []" in result.stdout
