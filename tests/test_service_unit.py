"""The shipped systemd unit: required directives, camera access, and systemd's own checks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fer_edge.service import install as service

REPO = Path(__file__).resolve().parents[1]
UNIT_FILE = REPO / "systemd" / "fer-edge.service"
CHECK = REPO / ".ci" / "systemd-check.sh"


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """Sections of a unit file as ordered (key, value) lists (keys may repeat)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, _, value = line.partition("=")
        assert current is not None, f"directive outside a section: {raw}"
        current.append((key.strip(), value.strip()))
    return sections


@pytest.fixture(scope="module")
def unit() -> dict[str, list[tuple[str, str]]]:
    return parse_unit(UNIT_FILE.read_text())


def values(unit, section: str, key: str) -> list[str]:
    return [v for k, v in unit[section] if k == key]


def test_the_packaged_unit_is_the_shipped_one():
    assert service.unit_template() == UNIT_FILE.read_text()


@pytest.mark.parametrize(
    "key, value",
    [
        ("Type", "notify"),
        ("NotifyAccess", "main"),
        ("WatchdogSec", "30s"),
        ("Restart", "on-failure"),
        ("RestartSec", "5s"),
        ("RestartPreventExitStatus", "78"),
        ("TimeoutStopSec", "20s"),
        ("DynamicUser", "yes"),
        ("SupplementaryGroups", "video"),
        ("StateDirectory", "fer-edge"),
        ("ConfigurationDirectory", "fer-edge"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateNetwork", "yes"),
        ("IPAddressDeny", "any"),
        ("RestrictAddressFamilies", "AF_UNIX"),
        ("DevicePolicy", "closed"),
        ("NoNewPrivileges", "yes"),
        ("CapabilityBoundingSet", ""),
        ("MemoryDenyWriteExecute", "yes"),
        ("SystemCallArchitectures", "native"),
        ("SystemCallErrorNumber", "EPERM"),
        ("UMask", "0077"),
        ("ExecStart", "@FER_EDGE@ run --config /etc/fer-edge/config.toml"),
    ],
)
def test_service_directive(unit, key, value):
    assert values(unit, "Service", key) == [value]


def test_start_rate_limit_and_install_target(unit):
    assert values(unit, "Unit", "StartLimitIntervalSec") and values(unit, "Unit", "StartLimitBurst")
    assert values(unit, "Install", "WantedBy") == ["multi-user.target"]
    assert "@system-service" in values(unit, "Service", "SystemCallFilter")


def test_camera_devices_stay_reachable(unit):
    keys = {k for k, _ in unit["Service"]}
    assert "PrivateDevices" not in keys  # it would hide /dev/video*
    assert "PrivateUsers" not in keys  # it would unmap the video group
    allowed = values(unit, "Service", "DeviceAllow")
    for device in ("char-video4linux rw", "char-media rw", "char-dma_heap rw"):
        assert device in allowed


def test_render_unit_fills_exec_start():
    text = service.render_unit("/opt/fer-edge/bin/fer-edge")
    assert "@FER_EDGE@" not in text
    assert values(parse_unit(text), "Service", "ExecStart") == [
        "/opt/fer-edge/bin/fer-edge run --config /etc/fer-edge/config.toml"
    ]


def test_exec_command_prefers_the_script_beside_the_interpreter(tmp_path):
    bindir = tmp_path / "venv" / "bin"
    bindir.mkdir(parents=True)
    python = bindir / "python3"
    python.write_text("")
    assert service.exec_command(str(python)) == f"{python} -m fer_edge.cli"
    script = bindir / "fer-edge"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert service.exec_command(str(python)) == str(script)


def test_exec_command_quotes_for_systemd(tmp_path):
    python = tmp_path / "my env 100%" / "python3"
    assert service.exec_command(str(python)) == f'"{tmp_path}/my env 100%%/python3" -m fer_edge.cli'


def test_module_fallback_runs_the_cli():
    out = subprocess.run(
        [sys.executable, "-m", "fer_edge.cli", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("fer-edge")


needs_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze not installed (Debian: apt-get install systemd)",
)


@needs_analyze
def test_systemd_verify_and_exposure_at_most_2():
    out = subprocess.run(["bash", str(CHECK)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    level = float(out.stdout.rsplit("systemd-check: exposure ", 1)[1].split()[0])
    assert level <= 2.0


@needs_analyze
def test_systemd_check_fails_above_its_limit():
    out = subprocess.run(["bash", str(CHECK), "0.1"], capture_output=True, text=True)
    assert out.returncode == 1
    assert "is above 0.1" in out.stderr


@needs_analyze
@pytest.mark.parametrize(
    "old, new, word", [("Type=notify", "Type=notifyy", "notifyy"), ("UMask=", "UMaskk=", "UMaskk")]
)
def test_systemd_check_rejects_a_broken_unit(tmp_path, old, new, word):
    broken = tmp_path / "fer-edge.service"
    broken.write_text(UNIT_FILE.read_text().replace(old, new, 1))
    out = subprocess.run(["bash", str(CHECK), "2.0", str(broken)], capture_output=True, text=True)
    assert out.returncode == 1
    assert word in out.stderr and "verify printed warnings" in out.stderr


@needs_analyze
@pytest.mark.parametrize(
    "options",
    [
        {"mqtt_host": "127.0.0.1", "metrics_port": 9108},
        {"mqtt_host": "192.0.2.10", "mqtt_password_file": "/etc/fer-edge/mqtt-password"},
    ],
)
def test_the_network_dropin_keeps_exposure_at_most_2(tmp_path, options):
    from fer_edge.service.network import network_dropin

    dropin = tmp_path / "network.conf"
    dropin.write_text(network_dropin(options))
    out = subprocess.run(
        ["bash", str(CHECK), "2.0", str(UNIT_FILE), str(dropin)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    level = float(out.stdout.rsplit("systemd-check: exposure ", 1)[1].split()[0])
    assert level <= 2.0
