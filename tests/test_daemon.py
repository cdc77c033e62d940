"""The daemon's loop over a live source that drops out (no model, no faces)."""

from __future__ import annotations

import numpy as np

from fer_edge.config import build_config
from fer_edge.record.jsonl import read_records
from helpers.fakes import SHA, NoFaces, Notes, frames, live, scripted_opener


def test_daemon_records_a_camera_gap_from_a_live_source(tmp_path):
    from fer_edge.assemble import build_pipeline
    from fer_edge.contract.card import ModelCard
    from fer_edge.contract.recipe import CropRecipe
    from fer_edge.daemon import Daemon

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
