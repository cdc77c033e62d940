"""The fleet subsystem end to end: the daemon with MQTT and metrics switched on, what leaves the
device, and only that."""

from __future__ import annotations

import json
import time
import urllib.request

from fer_edge.assemble import build_pipeline
from fer_edge.daemon import Daemon
from fer_edge.record.jsonl import read_records
from helpers.fakes import FakeClassifier, clip_config
from helpers.mosquitto import Broker, Subscriber, free_port
from helpers.skips import needs

needs("paho.mqtt")
needs("prometheus_client")


def run_daemon(tmp_path, clip, yunet_model, **options):
    config = clip_config(clip, yunet_model, tmp_path / "logs", **options)
    daemon = Daemon(build_pipeline(config, classifier=FakeClassifier()))
    daemon.run()
    return daemon


def test_every_logged_window_reaches_the_broker_in_order(tmp_path, clip, yunet_model):
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
    clip,
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


def _looping_daemon_args(tmp_path, yunet_model, broker):
    """`fer-edge run` arguments for the real daemon on a camera-like looping clip (bench's
    daemon_harness), publishing to ``broker``; returns (harness module, clip, control, logs,
    args)."""
    import daemon_harness  # bench/ (pytest's pythonpath)

    looping, control, logs = tmp_path / "clip.avi", tmp_path / "control", tmp_path / "logs"
    daemon_harness.write_looping_clip(looping, control, seconds=4)
    args = ["run", "--camera", "0", "--face-model", str(yunet_model), "--window", "1"]
    args += ["--max-fps", "5", "--log-dir", str(logs), "--site", "s1", "--room", "r1"]
    args += ["--mqtt-host", "127.0.0.1", "--mqtt-port", str(broker.port)]
    return daemon_harness, looping, control, logs, args


def _logged(logs) -> list[str]:
    return [r["id"] for r in read_records(logs)] if logs.exists() else []


def test_a_killed_and_restarted_daemon_loses_and_repeats_nothing(tmp_path, yunet_model):
    """The real `fer-edge run` on a camera-like looping clip, killed (-9) and started again."""
    import signal

    broker = Broker(tmp_path / "broker")
    sub = Subscriber(broker, "fer-edge/s1/r1/windows")
    harness, looping, control, logs, args = _looping_daemon_args(tmp_path, yunet_model, broker)
    try:
        for stop in (signal.SIGKILL, signal.SIGTERM):
            before = len(_logged(logs))
            daemon = harness.Daemon(tmp_path, looping, control, args)
            daemon.wait_for(lambda n=before: len(_logged(logs)) >= n + 4, 60, "four more windows")
            daemon.signal(stop)
            daemon.wait()
            (tmp_path / "notify").unlink()
        written = _logged(logs)
        got = [json.loads(p)["id"] for p in sub.wait_for("windows", len(written))]
    finally:
        sub.close()
        broker.stop()
    assert len(written) >= 8 and got == written  # every window once, in order, across a kill


def test_a_30_s_broker_outage_in_a_run_loses_and_repeats_nothing(tmp_path, yunet_model):
    """The broker is down for 30 s while the daemon keeps writing a window a second."""
    import signal

    broker = Broker(tmp_path / "broker")
    sub = Subscriber(broker, "fer-edge/s1/r1/windows")
    harness, looping, control, logs, args = _looping_daemon_args(tmp_path, yunet_model, broker)
    daemon = harness.Daemon(tmp_path, looping, control, args)
    try:
        daemon.wait_for(lambda: len(_logged(logs)) >= 3, 60, "three windows")
        broker.stop()
        time.sleep(30)
        broker.start()
        n = len(_logged(logs))
        daemon.wait_for(lambda: len(_logged(logs)) >= n + 3, 60, "three more windows")
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0
        written = _logged(logs)
        deadline = time.monotonic() + 60
        while len(set(ids_of(sub))) < len(written) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        daemon.kill()
        sub.close()
        broker.stop()
    got = ids_of(sub)
    assert len(written) >= 36  # about a window a second, through the outage
    assert list(dict.fromkeys(got)) == written  # every record arrived, in order
    # A second delivery can only be the broker re-sending what the subscriber had not yet
    # acknowledged when it stopped (QoS 1, DUP set): subscribers de-duplicate by id.
    assert len(got) - len(written) == len(sub.dups)


def ids_of(sub) -> list[str]:
    return [json.loads(p)["id"] for p in sub.payloads("windows")]
