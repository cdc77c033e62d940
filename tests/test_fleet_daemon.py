"""The daemon with MQTT and metrics switched on: what leaves the device, and only that."""

from __future__ import annotations

import json
import urllib.request

import pytest
from mosquitto import Broker, Subscriber, free_port
from test_daemon_run import FakeClassifier, clip  # noqa: F401 - the clip fixture

from conftest import START
from fer_edge.config import build_config
from fer_edge.daemon import Daemon
from fer_edge.record.jsonl import read_records

pytest.importorskip("paho.mqtt")
pytest.importorskip("prometheus_client")


def run_daemon(tmp_path, clip, yunet_model, **options):  # noqa: F811
    config = build_config(
        None,
        {
            "model": "fake",
            "camera": str(clip),
            "window": 1.0,
            "start_time": START,
            "face_model": str(yunet_model),
            "log_dir": str(tmp_path / "logs"),
            **options,
        },
    )
    daemon = Daemon(config, classifier=FakeClassifier())
    daemon.run()
    return daemon


def test_every_logged_window_reaches_the_broker_in_order(tmp_path, clip, yunet_model):  # noqa: F811
    broker = Broker(tmp_path / "broker")
    sub = Subscriber(broker, "fer-edge/school/room-7/#")
    try:
        run_daemon(
            tmp_path, clip, yunet_model, mqtt_host="127.0.0.1", mqtt_port=broker.port,
            room="room-7", min_group=14,
        )  # fmt: skip
        logged = list(read_records(tmp_path / "logs"))
        got = [json.loads(p) for p in sub.wait_for("windows", len(logged))]
    finally:
        sub.close()
        broker.stop()
    assert len(logged) == 3 and got == logged  # the log, and nothing but the log
    states = [json.loads(p)["state"] for p in sub.payloads("status")]
    assert states[0] == "online" and states[-1] == "offline"
    assert json.loads(sub.payloads("status")[0])["model_sha256"] == "ab" * 32


def test_metrics_count_frames_stages_and_records_but_no_expressions(
    tmp_path,
    clip,  # noqa: F811
    yunet_model,
):
    port = free_port()
    daemon = run_daemon(tmp_path, clip, yunet_model, metrics_port=port)
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'fer_edge_frames_total{state="processed"} 30.0' in text
    assert 'fer_edge_records_total{outcome="written"} 3.0' in text
    faces = float(
        next(
            line.split()[-1]
            for line in text.splitlines()
            if line.startswith("fer_edge_faces_total")
        )
    )
    assert faces == daemon.summary.faces > 0
    for stage in ("detect", "crop", "classify", "track"):
        assert f'fer_edge_stage_seconds_count{{stage="{stage}"}} 30.0' in text
    for label in ("happy", "sadness", "neutral", "shares"):
        assert label not in text  # expression figures leave only as window records
    assert daemon.metrics.registry is not None
