"""``fer-edge doctor`` and ``bench`` build what ``run`` builds, from the same options."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from fer_edge.cli import main
from fer_edge.config import build_config
from helpers.clips import write_face_clip
from helpers.fakes import FakeClassifier
from helpers.skips import requires


@pytest.fixture
def no_yunet(tmp_path, monkeypatch):
    """A fresh machine: no YuNet model anywhere fer-edge looks."""
    monkeypatch.delenv("FER_EDGE_FACE_MODEL", raising=False)
    monkeypatch.setenv("FER_EDGE_MODELS_DIR", str(tmp_path / "no-models"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "no-data"))


@pytest.fixture
def clip(tmp_path, head_bgr):
    return write_face_clip(tmp_path / "clip.avi", head_bgr, 30)


def test_doctor_on_a_fresh_machine_warns_about_what_the_config_does_not_need(
    tmp_path, monkeypatch, no_yunet, clip
):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # the default log dir, ./fer-edge-logs, is here
    result = CliRunner().invoke(main, ["doctor", "--detector", "haar", "--camera", str(clip)])
    assert result.exit_code == 0, result.output
    assert "WARN  face model: YuNet not found (not needed: detector haar)" in result.stdout
    assert not any(line.startswith("FAIL") for line in result.stdout.splitlines())
    assert "fer-edge-logs does not exist yet; run will create it" in result.stdout
    # the packaged card carries what the default estimator needs
    assert "PASS  shares: bayes, calibrated on ferplus: validation split" in result.stdout
    assert list(work.iterdir()) == []  # doctor created nothing

    needed = CliRunner().invoke(main, ["doctor", "--detector", "yunet", "--camera", str(clip)])
    assert needed.exit_code == 1
    assert "FAIL  face model: YuNet not found" in needed.stdout
    fallback = CliRunner().invoke(main, ["doctor", "--camera", str(clip)])  # detector auto
    assert "WARN  face model: YuNet not found: the Haar fallback will run" in fallback.stdout


def test_doctor_probes_an_existing_log_dir_and_leaves_it_as_it_was(tmp_path, clip, no_yunet):
    logs = tmp_path / "logs"
    logs.mkdir()
    args = ["doctor", "--detector", "haar", "--camera", str(clip), "--log-dir", str(logs)]
    result = CliRunner().invoke(main, args)
    assert f"PASS  log dir: {logs} writable" in result.stdout
    assert list(logs.iterdir()) == []


def test_doctor_refuses_a_bad_config_in_one_line(tmp_path):
    result = CliRunner().invoke(main, ["doctor", "--window", "inf"])
    assert result.exit_code == 78
    assert result.output.startswith("fer-edge: error: window inf: must be a finite number")


def test_bench_obeys_max_frames(tmp_path, monkeypatch, clip):
    monkeypatch.setattr("fer_edge.tools.benchmark.load_classifier", lambda config: FakeClassifier())
    args = ["bench", "--camera", str(clip), "--detector", "haar", "--json"]
    result = CliRunner().invoke(main, [*args, "--max-frames", "12"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["frames"] == 12
    replayed = CliRunner().invoke(main, [*args, "--max-frames", "45", "--detect-every", "3"])
    bench = json.loads(replayed.stdout)
    assert bench["frames"] == 45  # the 30-frame clip is replayed
    assert bench["detect_every"] == 3 and bench["detector_runs_per_frame"] == round(15 / 45, 3)
    assert "--frames" not in CliRunner().invoke(main, ["bench", "--help"]).output


def test_doctor_warns_when_the_card_lacks_what_the_estimator_needs(tmp_path, clip, no_yunet):
    from fer_edge.classify.packaged_model import resolve_model

    packaged = resolve_model(None)
    model = tmp_path / "m.tflite"
    shutil.copyfile(packaged, model)
    card = json.loads(packaged.with_suffix(".json").read_text())
    for size in card["calibration"]["sizes"].values():  # a card calibrated before the scaling
        del size["temperature"], size["bias"]
    model.with_suffix(".json").write_text(json.dumps(card))
    args = ["doctor", "--detector", "haar", "--camera", str(clip), "--model", str(model)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "WARN  shares: bayes needs each calibrated size's temperature scaling" in result.stdout
    assert "run fer-train calibrate again" in result.stdout
    counted = CliRunner().invoke(main, [*args, "--estimator", "cc"])
    assert "PASS  shares: cc, calibrated on" in counted.stdout


@requires("paho.mqtt")
def test_doctor_checks_the_broker_and_the_metrics_port(tmp_path, broker):
    from fer_edge.tools.doctor import _fleet

    config = build_config(None, {"mqtt_host": "127.0.0.1", "mqtt_port": broker.port})
    ((status, name, detail),) = _fleet(config)
    assert status == "PASS" and name == "mqtt" and "reachable" in detail
    broker.stop()
    ((status, _, detail),) = _fleet(config)
    assert status == "FAIL" and "not reachable" in detail
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        ((status, name, detail),) = _fleet(build_config(None, {"metrics_port": port}))
    assert status == "FAIL" and name == "metrics"
