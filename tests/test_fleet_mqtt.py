"""Publishing window records to a real Mosquitto broker: order, restarts, bad setups.

The daemon-level runs (a 30 s broker outage, a killed daemon) are in test_fleet.py.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fer_edge.config import build_config
from fer_edge.contract.errors import ConfigError
from fer_edge.fleet.mqtt import MqttPublisher, MqttSettings
from fer_edge.fleet.outbox import Outbox
from fer_edge.record.jsonl import JsonlLog, read_records
from helpers.fakes import window
from helpers.mosquitto import Broker, Subscriber, make_ca, make_server_cert
from helpers.skips import needs

needs("paho.mqtt")

SHA = "ab" * 32


def settings(broker: Broker, **options) -> MqttSettings:
    config = build_config(
        None,
        {"mqtt_host": "127.0.0.1", "mqtt_port": broker.port, "site": "s1", "room": "r1", **options},
    )
    return MqttSettings.from_config(config)


def ids(payloads: list[bytes]) -> list[str]:
    return [json.loads(p)["id"] for p in payloads]


def test_records_arrive_in_order_with_a_retained_status(tmp_path, broker):
    log = JsonlLog(tmp_path / "logs")
    log.prepare()
    sub = Subscriber(broker, "fer-edge/s1/r1/#")
    written = [window(i, suppressed=(i == 2)) for i in range(5)]
    for r in written[:3]:
        log.write(r)
    publisher = MqttPublisher(settings(broker), log.log_dir, SHA)
    publisher.start()
    for r in written[3:]:
        log.write(r)
        publisher.notify()
    got = sub.wait_for("windows", 5)
    assert ids(got) == [r.id for r in written]
    assert [json.loads(p) for p in got] == [r.to_dict() for r in written]  # what the log holds
    assert "shares" not in json.loads(got[2])  # a suppressed window stays suppressed
    status = json.loads(sub.payloads("status")[0])
    assert status["state"] == "online" and status["model_sha256"] == SHA
    publisher.stop()
    assert json.loads(sub.wait_for("status", 2)[-1])["state"] == "offline"
    assert publisher.published == 5 and Outbox(log.log_dir).pending() == []
    sub.close()


PUBLISHING_PROCESS = """
import sys, time
from fer_edge.config import build_config
from fer_edge.fleet.mqtt import MqttPublisher, MqttSettings
from fer_edge.record.jsonl import JsonlLog, read_records
from helpers.fakes import window
log = JsonlLog(sys.argv[1]); log.prepare()
config = build_config(None, {"mqtt_host": "127.0.0.1", "mqtt_port": int(sys.argv[2]),
                             "site": "s1", "room": "r1"})
publisher = MqttPublisher(MqttSettings.from_config(config), log.log_dir, "ab" * 32)
publisher.start()
i = len(list(read_records(sys.argv[1])))
while True:
    log.write(window(i)); publisher.notify(); i += 1
    print(i, flush=True)
    time.sleep(0.2)
"""


def test_a_killed_and_restarted_publisher_loses_and_repeats_nothing(tmp_path, broker):
    logs = tmp_path / "logs"
    sub = Subscriber(broker, "fer-edge/s1/r1/windows")
    env = {**os.environ, "PYTHONPATH": os.path.dirname(__file__)}
    cmd = [sys.executable, "-c", PUBLISHING_PROCESS, str(logs), str(broker.port)]
    for _ in range(2):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(10):
            proc.stdout.readline()
        proc.send_signal(signal.SIGKILL)  # no goodbye: the cursor is all that survives
        proc.wait()
    written = [r["id"] for r in read_records(logs)]
    assert len(written) >= 20
    # A third start sends whatever the killed ones had not got acknowledged.
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    proc.stdout.readline()
    got = ids(sub.wait_for("windows", len(written) + 1))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    sub.close()
    assert got[: len(written)] == written and len(set(got)) == len(got)


def test_bad_password_is_one_clear_line_and_logging_goes_on(tmp_path, caplog):
    broker = Broker(tmp_path / "broker", users={"room1": "right"})
    secret = tmp_path / "password"
    secret.write_text("wrong\n")
    secret.chmod(0o600)
    log = JsonlLog(tmp_path / "logs")
    log.prepare()
    caplog.set_level(logging.INFO, logger="fer_edge.fleet")
    publisher = MqttPublisher(
        settings(broker, mqtt_username="room1", mqtt_password_file=str(secret)), log.log_dir, SHA
    )
    publisher.start()
    for i in range(3):
        assert log.write(window(i))
        publisher.notify()
    time.sleep(4)  # several reconnect attempts
    publisher.stop()
    broker.stop()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    assert "refused" in errors[0] and "password" in errors[0] and str(broker.port) in errors[0]
    assert len(list(read_records(log.log_dir))) == 3 and publisher.published == 0


def test_bad_ca_is_one_clear_line_and_tls_works_with_the_right_one(tmp_path, caplog):
    certs = tmp_path / "certs"
    certs.mkdir()
    ca = make_ca(certs, "school-ca")
    other_ca, _ = make_ca(certs, "other-ca")
    broker = Broker(tmp_path / "broker", tls=(ca[0], *make_server_cert(certs, ca)))
    log = JsonlLog(tmp_path / "logs")
    log.prepare()
    log.write(window(0))
    caplog.set_level(logging.INFO, logger="fer_edge.fleet")
    bad = MqttPublisher(settings(broker, mqtt_ca_file=str(other_ca)), log.log_dir, SHA)
    bad.start()
    time.sleep(4)
    bad.stop()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "TLS" in errors[0] and "mqtt-ca-file" in errors[0], errors
    assert bad.published == 0
    sub = Subscriber(broker, "fer-edge/s1/r1/windows", ca_certs=str(ca[0]))
    good = MqttPublisher(settings(broker, mqtt_ca_file=str(ca[0])), log.log_dir, SHA)
    good.start()
    assert ids(sub.wait_for("windows", 1)) == [window(0).id]
    good.stop()
    sub.close()
    broker.stop()


def test_settings_are_checked_before_anything_runs(tmp_path):
    open_secret = tmp_path / "password"
    open_secret.write_text("pw\n")
    open_secret.chmod(0o644)
    base = {"mqtt_host": "127.0.0.1", "mqtt_username": "u"}
    with pytest.raises(ConfigError, match="readable by others"):
        build_config(None, {**base, "mqtt_password_file": str(open_secret)})
    with pytest.raises(ConfigError, match="room 'a/b'"):
        build_config(None, {**base, "room": "a/b"})
    with pytest.raises(ConfigError, match="mqtt-ca-file .*not found"):
        build_config(None, {**base, "mqtt_ca_file": str(tmp_path / "nope.crt")})
    open_secret.chmod(0o600)
    config = build_config(None, {**base, "mqtt_password_file": str(open_secret), "room": "r"})
    mqtt = MqttSettings.from_config(config)
    assert (mqtt.password, mqtt.port, mqtt.topic) == ("pw", 1883, "fer-edge/school/r")
    assert MqttSettings.from_config(build_config(None, {})) is None  # off by default


def test_a_systemd_credential_is_found_by_name(tmp_path, monkeypatch):
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "mqtt-password").write_text("s3cret")
    (creds / "mqtt-password").chmod(0o400)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    config = build_config(
        None, {"mqtt_host": "h", "mqtt_username": "u", "mqtt_password_file": "mqtt-password"}
    )
    assert MqttSettings.from_config(config).password == "s3cret"


def test_the_example_subscriber_prints_rooms_and_shares(tmp_path, broker):
    log = JsonlLog(tmp_path / "logs")
    log.prepare()
    log.write(window(0))
    publisher = MqttPublisher(settings(broker), log.log_dir, SHA)
    publisher.start()
    deadline = time.monotonic() + 10
    while publisher.published < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    publisher.stop()  # sent and acknowledged: the last window is retained on the broker
    example = Path(__file__).resolve().parents[1] / "examples" / "fleet_view.py"
    out = tmp_path / "view.txt"
    with open(out, "w") as fh:
        proc = subprocess.Popen(
            [sys.executable, str(example), "127.0.0.1", "--port", str(broker.port)],
            stdout=fh,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    deadline = time.monotonic() + 20  # a loaded machine starts Python slowly
    while "100%" not in out.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.terminate()
    proc.wait(timeout=10)
    text = out.read_text()
    assert "s1/r1" in text and "100%" in text  # the room, and its happy share of 1.0
