"""The service installer: dry run, install into a temporary root, reinstall, uninstall."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from fer_edge.cli import main
from fer_edge.config import build_config
from fer_edge.contract.card import ModelCard, Quantization, sha256_file, write_card
from fer_edge.contract.errors import FerError
from fer_edge.contract.recipe import CropRecipe
from fer_edge.service import install as service


@pytest.fixture(autouse=True)
def no_models_on_this_machine(tmp_path, monkeypatch):
    """YuNet lookup sees only what a test puts there."""
    monkeypatch.delenv("FER_EDGE_FACE_MODEL", raising=False)
    monkeypatch.setenv("FER_EDGE_MODELS_DIR", str(tmp_path / "no-models"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "no-data"))


@pytest.fixture
def model(tmp_path) -> Path:
    """A model file with a matching card beside it (the installer checks the card, not TFLite)."""
    path = tmp_path / "src" / "fer-int8.tflite"
    path.parent.mkdir()
    path.write_bytes(os.urandom(2048))
    card = ModelCard(
        model_file=path.name,
        model_format="tflite",
        sha256=sha256_file(path),
        crop=CropRecipe(48),
        input_dtype="int8",
        input_quantization=Quantization(1.0, -128),
        output_dtype="int8",
        output_quantization=Quantization(1 / 256, -128),
        mode="int8",
    )
    write_card(card, path.with_suffix(".json"))
    return path


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def cli(*args: str):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def install(root: Path, *args: str):
    result = cli("install-service", "--root", str(root), *args)
    assert result.exit_code == 0, result.output
    return result


def test_dry_run_prints_every_step_and_writes_nothing(tmp_path, model):
    root = tmp_path / "root"
    root.mkdir()
    result = install(root, "--model", str(model), "--dry-run")
    assert tree(root) == {}
    lines = result.output.splitlines()
    assert all(line.startswith("would ") for line in lines)
    out = result.output
    assert f"copy {model} -> {root}/etc/fer-edge/model.tflite" in out  # where it goes
    assert f"write {root}/etc/fer-edge/config.toml (default config)" in out
    assert f"write {root}/etc/systemd/system/fer-edge.service (unit)" in out
    assert "systemctl enable --now fer-edge.service" in out


def test_install_into_a_root(tmp_path, model, yunet_model):
    root = tmp_path / "root"
    install(
        root, "--model", str(model), "--camera", "/dev/video2", "--face-model", str(yunet_model)
    )
    etc = root / "etc" / "fer-edge"

    unit = (root / "etc/systemd/system/fer-edge.service").read_text()
    exec_start = f"ExecStart={service.exec_command()} run --config /etc/fer-edge/config.toml"
    assert exec_start in unit.splitlines()
    assert "@FER_EDGE@" not in unit

    assert (etc / "model.tflite").read_bytes() == model.read_bytes()
    assert (etc / "model.json").read_bytes() == model.with_suffix(".json").read_bytes()
    assert (etc / service.FACE_MODEL.name).read_bytes() == yunet_model.read_bytes()
    assert stat.S_IMODE(etc.stat().st_mode) == 0o755
    for path in [etc / "model.tflite", etc / "model.json", etc / "config.toml"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644  # readable by the dynamic user
    assert not list(etc.glob(".*"))  # no temp files left

    config = build_config(etc / "config.toml")  # the daemon's own loader accepts it
    assert config.camera == "/dev/video2"
    assert config.model == "/etc/fer-edge/model.tflite"
    assert config.card == "/etc/fer-edge/model.json"
    assert config.face_model == f"/etc/fer-edge/{service.FACE_MODEL.name}"
    assert config.log_dir is None  # $STATE_DIRECTORY

    record = json.loads((etc / "installed-files.json").read_text())["files"]
    assert record["/etc/fer-edge/model.tflite"] == sha256_file(model)


def test_without_a_face_model_the_config_says_where_it_goes(tmp_path, model):
    root = tmp_path / "root"
    install(root, "--model", str(model))
    text = (root / "etc/fer-edge/config.toml").read_text()
    assert '# face_model = "/etc/fer-edge/' in text
    assert build_config(root / "etc/fer-edge/config.toml").face_model is None


def test_reinstall_keeps_the_installed_face_model(tmp_path, model, yunet_model):
    root = tmp_path / "root"
    install(root, "--model", str(model), "--face-model", str(yunet_model))
    (root / "etc/fer-edge/config.toml").unlink()
    result = install(root)  # the YuNet source is gone from the lookup path: keep the copy
    assert f"keep {root}{service.FACE_MODEL} (installed before)" in result.output
    config = build_config(root / "etc/fer-edge/config.toml")
    assert config.face_model == str(service.FACE_MODEL)


def test_reinstall_never_overwrites_the_config(tmp_path, model):
    root = tmp_path / "root"
    install(root, "--model", str(model))
    config = root / "etc/fer-edge/config.toml"
    edited = config.read_text().replace('camera = "0"', 'camera = "picamera2"')
    config.write_text(edited)
    result = install(root, "--camera", "1")  # no --model: the installed one stays
    assert config.read_text() == edited
    assert f"keep {root}/etc/fer-edge/config.toml" in result.output
    assert (root / "etc/fer-edge/model.tflite").read_bytes() == model.read_bytes()


def test_uninstall_removes_what_it_added_and_keeps_the_logs(tmp_path, model, yunet_model):
    root = tmp_path / "root"
    install(root, "--model", str(model), "--face-model", str(yunet_model))
    logs = root / "var/lib/fer-edge"
    logs.mkdir(parents=True)
    (logs / "2026-11-24.jsonl").write_text('{"window": 1}\n')

    result = cli("uninstall-service", "--root", str(root))
    assert result.exit_code == 0, result.output
    assert tree(root) == {"var/lib/fer-edge/2026-11-24.jsonl": b'{"window": 1}\n'}
    assert not (root / "etc/fer-edge").exists()
    assert "skip (--root): systemctl disable --now fer-edge.service" in result.output


def test_uninstall_keeps_an_edited_config(tmp_path, model):
    root = tmp_path / "root"
    install(root, "--model", str(model))
    config = root / "etc/fer-edge/config.toml"
    config.write_text(config.read_text() + "window = 30\n")
    dry = cli("uninstall-service", "--root", str(root), "--dry-run")
    assert f"would remove {root}/etc/fer-edge/model.tflite" in dry.output
    assert (root / "etc/fer-edge/model.tflite").exists()

    result = cli("uninstall-service", "--root", str(root))
    assert f"keep {root}/etc/fer-edge/config.toml (changed since it was installed)" in result.output
    assert tree(root) == {"etc/fer-edge/config.toml": config.read_bytes()}


def test_a_model_whose_card_does_not_match_is_refused(tmp_path, model):
    root = tmp_path / "root"
    model.write_bytes(b"another model")
    result = cli("install-service", "--root", str(root), "--model", str(model))
    assert result.exit_code == 1
    assert "does not match its model card" in result.output
    assert not root.exists() or tree(root) == {}


def test_first_install_without_model_installs_the_packaged_default(tmp_path, model):
    from fer_edge.classify.packaged_model import default_model_path

    root = tmp_path / "root"
    assert cli("install-service", "--root", str(root)).exit_code == 0
    installed = root / "etc/fer-edge/model.tflite"
    packaged = default_model_path()
    assert installed.read_bytes() == packaged.read_bytes()
    assert json.loads((root / "etc/fer-edge/model.json").read_text()) == json.loads(
        packaged.with_suffix(".json").read_text()
    )
    # A later install without --model keeps the installed model; --model replaces it.
    installed.write_bytes(model.read_bytes())
    assert cli("install-service", "--root", str(root)).exit_code == 0
    assert installed.read_bytes() == model.read_bytes()


def test_a_real_install_needs_root(monkeypatch):
    monkeypatch.setattr(service.os, "geteuid", lambda: 1000)
    with pytest.raises(FerError, match="needs root"):
        service.Installer("/").run([service.Action("write something", None)])


def test_a_real_install_needs_systemd_running(monkeypatch, tmp_path):
    monkeypatch.setattr(service.os, "geteuid", lambda: 0)
    monkeypatch.setattr(service, "SYSTEMD_RUN_DIR", str(tmp_path / "absent"))
    ran = []
    with pytest.raises(FerError, match="systemd is not running"):
        service.Installer("/").run([service.Action("write", lambda: ran.append(1))])
    assert ran == []


@pytest.mark.parametrize(
    "path, why",
    [
        ("/home/pi/fer-edge-venv/bin/python3", "ProtectHome"),
        ("/root/venv/bin/python", "ProtectHome"),
        ("/tmp/venv/bin/python", "under /tmp (PrivateTmp=yes"),
        ("/var/tmp/fer/bin/python", "under /var/tmp (PrivateTmp=yes"),
    ],
)
def test_an_environment_the_service_cannot_see_is_refused(path, why):
    with pytest.raises(FerError, match=rf"{re.escape(why)}.*/opt"):
        service.check_reachable(python=path, prefix="/opt/x")
    service.check_reachable(python="/opt/fer-edge/bin/python3", prefix="/opt/fer-edge")


def test_service_state_without_systemd(monkeypatch, tmp_path):
    monkeypatch.setattr(service, "SYSTEMD_RUN_DIR", str(tmp_path / "absent"))
    assert service.service_state() is None


@pytest.mark.parametrize(
    "show, state",
    [
        ("LoadState=loaded\nActiveState=active\nSubState=running\n", "active (running)"),
        ("LoadState=loaded\nActiveState=failed\nSubState=failed\n", "failed"),
        ("LoadState=not-found\nActiveState=inactive\nSubState=dead\n", "not installed"),
    ],
)
def test_service_state_asks_systemctl(monkeypatch, tmp_path, show, state):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "systemctl"
    (tmp_path / "show.txt").write_text(show)
    fake.write_text(f"#!/bin/sh\ncat {tmp_path / 'show.txt'}\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    monkeypatch.setattr(service, "SYSTEMD_RUN_DIR", str(tmp_path))
    assert service.service_state() == state


@pytest.mark.parametrize(
    "state, ok", [("active (running)", "PASS"), ("not installed", "PASS"), ("failed", "FAIL")]
)
def test_doctor_reports_the_service_state(monkeypatch, state, ok):
    from fer_edge.tools import doctor

    monkeypatch.setattr(service, "service_state", lambda: state)
    assert doctor._service() == (ok, "service", f"{service.SERVICE}: {state}")
    monkeypatch.setattr(service, "service_state", lambda: None)
    assert doctor._service() is None


def test_mqtt_or_metrics_in_the_config_open_only_what_they_need(tmp_path, model):
    root = tmp_path / "root"
    dropin = root / "etc/systemd/system/fer-edge.service.d/network.conf"
    assert cli("install-service", "--root", str(root), "--model", str(model)).exit_code == 0
    assert not dropin.exists()  # no network by default
    config = root / "etc/fer-edge/config.toml"
    config.write_text(
        config.read_text()
        + 'mqtt_host = "127.0.0.1"\nmetrics_port = 9108\n'
        + 'mqtt_username = "room7"\nmqtt_password_file = "/etc/fer-edge/mqtt-password"\n'
    )
    assert cli("install-service", "--root", str(root)).exit_code == 0
    text = dropin.read_text()
    assert "PrivateNetwork=no" in text and "IPAddressAllow=127.0.0.1" in text
    assert "IPAddressAllow=localhost" in text
    assert "LoadCredential=mqtt-password:/etc/fer-edge/mqtt-password" in text
    assert "IPAddressAllow=any" not in text and "IPAddressDeny" not in text.replace("# IP", "")
    config.write_text(config.read_text().split("mqtt_host")[0])
    assert cli("install-service", "--root", str(root)).exit_code == 0
    assert not dropin.exists()  # MQTT switched off: the network is closed again
    assert cli("uninstall-service", "--root", str(root)).exit_code == 0


def test_a_camera_file_is_written_as_an_absolute_path(tmp_path, model, monkeypatch):
    (tmp_path / "demo-out").mkdir()
    (tmp_path / "demo-out/astronaut.avi").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "root"
    install(root, "--model", str(model), "--camera", "demo-out/astronaut.avi")
    config = build_config(root / "etc/fer-edge/config.toml")
    assert config.camera == str(tmp_path / "demo-out/astronaut.avi")
    result = cli("install-service", "--root", str(tmp_path / "r2"), "--camera", "nope.avi")
    assert result.exit_code == 1 and "camera nope.avi: no such video file" in result.output


def test_the_default_config_states_every_option_from_its_field():
    from fer_edge.config import OPTIONS, load_toml

    text = service.default_config("0", face_model=True)
    lines = [line[2:] if re.match(r"# [a-z_]+ = ", line) else line for line in text.splitlines()]
    options = load_toml_text("\n".join(lines), load_toml)
    assert set(options) == set(OPTIONS)  # each option once, uncommented: a valid config
    assert options["window"] == 60.0 and options["min_group"] == 5
    assert "Range [1, 86400]" in text and "One of: auto, yunet, haar" in text


def load_toml_text(text, load_toml):
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.toml"
        path.write_text(text)
        return load_toml(path)
