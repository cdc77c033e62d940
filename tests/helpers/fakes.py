"""Fakes and small builders shared by the device tests: cameras, classifiers, records."""

from __future__ import annotations

import time

import numpy as np

from fer_edge.capture.livesource import LiveSource
from fer_edge.config import RunConfig, build_config
from fer_edge.contract.card import ModelCard
from fer_edge.contract.recipe import CropRecipe
from fer_edge.record.timeutil import parse_iso
from fer_edge.record.window import Camera, WindowRecord

SHA = "ab" * 32
T0 = parse_iso("2026-01-05T08:00:00Z")
#: The quality gate off: the test clip's faces are ~17 px (tests/test_quality.py tests the gate).
NO_GATE = {"readable_face": 0.0, "max_yaw": 0.0, "max_pitch": 0.0, "min_sharpness": 0.0}
#: The first minute of :func:`window`'s records.
MIDNIGHT = 1_767_600_000.0  # 2026-01-05


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
    """Opens a device for each script in turn; None (or no script left): the camera is absent."""
    queue = list(scripts)

    def opener():
        script = queue.pop(0) if queue else None
        return None if script is None else ScriptedDevice(script)

    return opener


def frames(n, shape=(4, 4, 3), value=0):
    return [np.full(shape, value + i, np.uint8) for i in range(n)]


def live(opener, **kw):
    kw = {"frame_timeout": 0.3, "tick": 0.05, "backoff_start": 0.01, "reconnect_max": 0.05, **kw}
    return LiveSource(opener, "fake", **kw)


def never_opens():
    raise OSError("/dev/video7 does not exist (not plugged in?)")


class NoFaces:
    name = "none"

    def detect(self, image):
        return []


class Fixed:
    """An inner detector that finds fixed faces (in the copy's pixels) and notes what it saw."""

    name = "fixed"

    def __init__(self, faces):
        self.faces, self.seen = faces, []

    def detect(self, image):
        self.seen.append(image)
        return list(self.faces)


class FakeClassifier:
    """Stands in for the interpreter: class from each crop's mean brightness, one batched call."""

    def __init__(self):
        self.card = ModelCard("fake.tflite", "tflite", "ab" * 32, CropRecipe(size=32))
        self.calls = []

    def predict(self, crops):
        self.calls.append(len(crops))
        probs = np.full((len(crops), 7), 0.05, np.float32)
        probs[np.arange(len(crops)), (crops.reshape(len(crops), -1).mean(1) // 40).astype(int)] = (
            0.7
        )
        return probs


def onehot(*indices):
    probs = np.full((len(indices), 7), 0.01, np.float32)
    probs[np.arange(len(indices)), indices] = 0.94
    return probs


def feed(agg, ts, tracks, label=3, conf=0.9):
    records = agg.advance(ts)
    agg.frame(processed=True)
    agg.faces([(t, label, conf) for t in tracks])
    return records


def record(start=T0, **fields) -> WindowRecord:
    """A 60 s window record as the aggregator makes it (epoch seconds); ``fields`` override
    (a suppressed one has no class figures)."""
    base = dict(
        start=start,
        end=start + 60,
        source="file",
        frames_seen=10,
        frames_processed=10,
        frames_dropped=0,
        face_observations=60,
        faces_mean=6.0,
        faces_max=6,
        tracks=6,
        faces_readable=60,
        faces_unreadable=0,
        unreadable={},
        readable_tracks=6,
        min_group=5,
        suppressed=False,
        counts={"happy": 60},
        shares={"happy": 1.0},
        mean_confidence=0.9,
        camera=Camera(status="ok", gaps=0, gap_seconds=0.0),
        model_sha256=SHA,
        prior_correction=False,
    )
    if fields.get("suppressed"):  # no class figures
        base.update(counts=None, shares=None, mean_confidence=None)
    return WindowRecord(**{**base, **fields})


def window(i: int, suppressed: bool = False) -> WindowRecord:
    """The ``i``-th minute's window record, as the daemon hands it to the log."""
    return record(MIDNIGHT + 60 * i, suppressed=suppressed)


class Notes:
    """A notifier that records every call: ``sent`` holds (method, *args) tuples."""

    def __init__(self):
        self.sent = []

    def __getattr__(self, name):
        return lambda *args: self.sent.append((name, *args))


def clip_config(clip, face_model, log_dir, **options) -> RunConfig:
    """The daemon over a test clip for the fake classifier: 1 s windows from START."""
    from .clips import START

    base = {
        "model": "fake",
        "camera": str(clip),
        "window": 1.0,
        "start_time": START,
        "face_model": str(face_model),
        "log_dir": str(log_dir),
    }
    return build_config(None, {**base, **options})
