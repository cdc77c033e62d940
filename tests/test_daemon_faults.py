"""Faults a new user meets: an unusable log dir, an unreadable HOME, a camera that never opens.

"Cannot write/read" needs a process without root's permission bypass: as root the command runs
under ``setpriv`` with CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH dropped (as a non-root user the
file modes alone do it). Read-only and full file systems are real tmpfs mounts, skipped where
mounting is not permitted.
"""

from __future__ import annotations

import errno
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fer_edge.assemble import build_pipeline
from fer_edge.capture.events import FOUND, FRAME, LOST
from fer_edge.capture.livesource import LiveSource
from fer_edge.cli import main
from fer_edge.config import build_config
from fer_edge.contract.errors import CameraUnavailable
from fer_edge.daemon import Daemon
from fer_edge.record import jsonl
from fer_edge.record.jsonl import JsonlLog, log_path, read_records
from helpers import REPO
from helpers.clips import START, write_face_clip
from helpers.fakes import FakeClassifier, NoFaces, Notes, frames, record, scripted_opener
from helpers.osfaults import fer_edge, tmpfs, unprivileged


def fill(folder: Path) -> Path:
    """Write a file into ``folder`` until its file system is full."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with pytest.raises(OSError) as info:
            while True:
                os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)
    assert info.value.errno == errno.ENOSPC
    return filler


@pytest.fixture
def fake_model(monkeypatch):
    """`fer-edge run --model fake` with the fake classifier in place of the interpreter."""
    monkeypatch.setattr("fer_edge.assemble.load_classifier", lambda config: FakeClassifier())


def run_cli(*args: str):
    return CliRunner().invoke(main, ["run", "--model", "fake", *args])


def one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("fer-edge: error:")]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


# -- the log dir ---------------------------------------------------------------------------------
def test_a_log_dir_the_daemon_cannot_write_exits_78_before_anything_runs(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir(mode=0o555)
    logs.chmod(0o555)  # whatever the umask
    cmd = unprivileged(fer_edge("run", "--model", "m.tflite", "--camera", "0"))
    done = subprocess.run(
        [*cmd, "--log-dir", str(logs)], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert done.returncode == 78, done.stderr
    line = one_error_line(done.stderr)
    assert f"log dir {logs}: not writable (Permission denied)" in line
    assert list(logs.iterdir()) == []


def test_a_log_dir_that_is_a_file_exits_78(tmp_path, fake_model):
    not_a_dir = tmp_path / "logs"
    not_a_dir.write_text("x")
    result = run_cli("--camera", "0", "--log-dir", str(not_a_dir))
    assert result.exit_code == 78
    assert f"log dir {not_a_dir}: is a file, not a folder" in one_error_line(result.output)
    assert not_a_dir.read_text() == "x"


def test_a_read_only_log_dir_exits_78(tmp_path, fake_model):
    with tmpfs(tmp_path / "ro", "ro", "size=1m") as logs:
        result = run_cli("--camera", "0", "--log-dir", str(logs))
        assert result.exit_code == 78
        assert "not writable (Read-only file system)" in one_error_line(result.output)


def test_a_log_disk_full_at_start_exits_78_and_leaves_nothing(tmp_path, fake_model):
    with tmpfs(tmp_path / "full", "size=256k") as logs:
        filler = fill(logs)
        result = run_cli("--camera", "0", "--log-dir", str(logs), "--min-free-mb", "0")
        assert result.exit_code == 78
        assert "not writable (No space left on device)" in one_error_line(result.output)
        assert list(logs.iterdir()) == [filler]  # the probe file is gone


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_a_run_that_stored_none_of_its_records_does_not_exit_0(
    tmp_path, fake_model, head_bgr, yunet_model
):
    clip = write_face_clip(tmp_path / "c.avi", head_bgr, 20)
    logs = tmp_path / "logs"
    logs.mkdir()
    log_path(logs, "2026-01-05").symlink_to("/dev/full")  # writable at start, full in the run
    args = ["--camera", str(clip), "--window", "1", "--start-time", START]
    result = run_cli(*args, "--log-dir", str(logs), "--face-model", str(yunet_model))
    assert result.exit_code == 74, result.output  # EX_IOERR
    assert "0 windows written" in result.output and "2 records dropped" in result.output
    assert "none of the 2 window records could be stored" in one_error_line(result.output)


def test_a_record_cut_short_by_a_full_disk_leaves_no_torn_line(tmp_path, monkeypatch):
    log = JsonlLog(tmp_path)
    assert log.write(record())
    before = log_path(tmp_path, "2026-01-05").read_bytes()
    real = jsonl._write_all

    def half_then_full(fd, data):
        real(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(jsonl, "_write_all", half_then_full)
    assert not log.write(record()) and log.dropped == 1
    assert log_path(tmp_path, "2026-01-05").read_bytes() == before
    monkeypatch.setattr(jsonl, "_write_all", real)
    assert log.write(record())
    assert len(list(read_records(tmp_path))) == 2
    assert all(
        line.startswith(b"{")
        for line in log_path(tmp_path, "2026-01-05").read_bytes().split(b"\n")[:-1]
    )


# -- the face model search -----------------------------------------------------------------------
def test_an_unreadable_home_is_skipped_in_the_model_search(tmp_path):
    home = tmp_path / "home"
    (home / ".local" / "share" / "fer-edge" / "models").mkdir(parents=True)
    home.chmod(0o700)
    if os.geteuid() == 0:
        os.chown(home, 65534, 65534)  # another user's HOME
    else:
        home.chmod(0o000)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "FER_EDGE_"))}
    env["HOME"] = str(home)
    code = "from fer_edge.faces.modelfiles import find_yunet; print('found', find_yunet())"
    cmd = unprivileged([sys.executable, "-c", code])
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60, cwd=REPO)
    home.chmod(0o700)
    assert done.returncode == 0 and "found None" in done.stdout, done.stderr
    done = subprocess.run(
        unprivileged(fer_edge("doctor", "--camera", "0", "--log-dir", str(tmp_path / "logs"))),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=REPO,
    )
    assert "Traceback" not in done.stderr and "WARN  face model: YuNet not found" in done.stdout


# -- a camera that never opens -------------------------------------------------------------------
def never_opens():
    raise OSError("/dev/video7 does not exist (not plugged in?)")


def test_each_backoff_step_says_which_camera_why_and_when(caplog):
    source = LiveSource(never_opens, "camera 7", tick=0.02, backoff_start=0.05, reconnect_max=0.2)
    source.give_up = 0.6
    with caplog.at_level(logging.WARNING), pytest.raises(CameraUnavailable) as info:
        for _ in source:
            pass
    steps = [r.getMessage() for r in caplog.records if r.name == "fer_edge.capture.livesource"]
    assert len(steps) >= 4
    assert (
        steps[0] == "camera 7: /dev/video7 does not exist (not plugged in?); next attempt in 0.05 s"
    )
    assert steps[3].endswith("next attempt in 0.2 s")  # doubling, capped at reconnect-max
    assert not any("camera camera" in s for s in steps)
    assert info.value.exit_code == 69 and "no frame within 0.6 s" in str(info.value)
    assert "/dev/video7 does not exist" in str(info.value)


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


def test_camera_that_appears_later_is_used_and_the_wait_forever_default_off_a_terminal():
    opener = scripted_opener(None, None, frames(3))  # two failed opens, then a camera

    def flaky():
        device = opener()
        if device is None:
            raise OSError("does not exist (not plugged in?)")
        return device

    source = LiveSource(flaky, "/dev/video0", tick=0.02, backoff_start=0.05, reconnect_max=0.1)
    kinds, problems = [], []
    for event in source:
        kinds.append(event.kind)
        problems.append(event.problem)
        if kinds.count(FRAME) == 3:
            source.close()
    assert kinds.count(FRAME) == 3 and kinds.count(LOST) == 1  # one gap, however many retries
    assert kinds.index(FOUND) == kinds.index(FRAME) - 1  # the gap ends with the first frame
    assert problems[kinds.index(LOST)] == (
        "/dev/video0: does not exist (not plugged in?); next attempt in 0.05 s"
    )
    # frames (and any heartbeat between them on a slow machine) carry no problem
    assert set(problems[kinds.index(FOUND) :]) == {None}
    config = build_config(None, {"model": "m"})
    assert config.resolved_camera_wait == 0.0  # pytest's stdin is no terminal: a service


def test_cli_camera_wait_exits_69_in_our_words_without_opencv_lines(
    tmp_path, fake_model, yunet_model, capfd, caplog
):
    if os.path.exists("/dev/video7"):
        pytest.skip("this machine has a /dev/video7")
    args = ["--camera", "7", "--camera-wait", "1", "--log-dir", str(tmp_path)]
    result = run_cli(*args, "--face-model", str(yunet_model))
    assert result.exit_code == 69, result.output
    line = one_error_line(result.output)
    assert "camera 7: no frame within 1 s (/dev/video7 does not exist (not plugged in?))" in line
    steps = [r.getMessage() for r in caplog.records if r.name == "fer_edge.capture.livesource"]
    assert (
        steps[0] == "camera 7: /dev/video7 does not exist (not plugged in?); next attempt in 0.5 s"
    )
    doctor = CliRunner().invoke(main, ["doctor", "--camera", "7", "--log-dir", str(tmp_path)])
    assert "FAIL  camera: camera 7: /dev/video7 does not exist (not plugged in?)" in doctor.output
    native = capfd.readouterr().err  # what OpenCV wrote to file descriptor 2
    assert "WARN" not in native and "ERROR" not in native, native


def test_camera_wait_is_an_option_with_checked_values(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('model = "m"\ncamera-wait = 45\n')
    assert build_config(cfg).resolved_camera_wait == 45.0
    result = CliRunner().invoke(main, ["check-config", "--model", "m", "--camera-wait", "-1"])
    assert result.exit_code == 78 and "camera-wait -1.0: must be >= 0" in result.output


def test_extending_tells_systemd_the_start_goes_on(tmp_path):
    import socket

    from fer_edge.service.notify import Notifier

    address = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(address)
        server.settimeout(1)
        Notifier({"NOTIFY_SOCKET": address}).extending("waiting for\ncamera 7", 30)
        assert server.recv(4096) == b"EXTEND_TIMEOUT_USEC=30000000\nSTATUS=waiting for camera 7"


def test_sighup_is_logged_and_the_run_goes_on(tmp_path, monkeypatch, head_bgr, yunet_model, caplog):
    import signal

    class HangsUpOnce(FakeClassifier):
        def predict(self, crops):
            if not self.calls:
                os.kill(os.getpid(), signal.SIGHUP)
            return super().predict(crops)

    monkeypatch.setattr("fer_edge.assemble.load_classifier", lambda config: HangsUpOnce())
    previous = signal.getsignal(signal.SIGHUP)
    clip = write_face_clip(tmp_path / "c.avi", head_bgr, 20)
    args = ["--camera", str(clip), "--window", "1", "--start-time", START]
    # The quality gate off: the clip's ~17 px faces must reach the classifier.
    args += ["--readable-face", "0", "--max-yaw", "0", "--max-pitch", "0", "--min-sharpness", "0"]
    try:
        result = run_cli(
            *args, "--log-dir", str(tmp_path / "logs"), "--face-model", str(yunet_model)
        )
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert result.exit_code == 0, result.output
    assert "stopped by end of source" in result.output  # not by the hang-up
    assert any("SIGHUP received: nothing to reload" in r.getMessage() for r in caplog.records)
    assert len(list(read_records(tmp_path / "logs"))) == 2
