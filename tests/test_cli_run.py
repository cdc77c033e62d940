"""``fer-edge run``, ``bench`` and ``doctor`` end to end: faults a new user meets (an unusable log
dir, a camera that never opens, a hang-up), runs of a real int8 model on a clip of tiled
astronaut faces (only aggregates stored, SIGTERM, broken model files), one daemon per log folder
and what the last line says about records still waiting for the MQTT broker.

"Cannot write/read" needs a process without root's permission bypass: as root the command runs
under ``setpriv`` with CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH dropped (as a non-root user the
file modes alone do it). Read-only and full file systems are real tmpfs mounts, skipped where
mounting is not permitted.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from fer_edge.cli import main
from fer_edge.contract.card import ModelCard, read_card, sha256_file, write_card
from fer_edge.contract.labels import LABELS
from fer_edge.contract.recipe import CropRecipe
from fer_edge.record.jsonl import LOCK, JsonlLog, log_path, read_records
from helpers import REPO
from helpers.clips import START, write_face_clip
from helpers.fakes import FakeClassifier
from helpers.osfaults import daemon_env, fer_edge, tmpfs, unprivileged
from helpers.skips import needs

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"BM", b"GIF8", b"II*\x00", b"MM\x00*", b"RIFF", b"P6")


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


# -- a camera that never opens -------------------------------------------------------------------
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


# -- with a real int8 model (built with TensorFlow in this process; run without it) ------------
def scan_for_images(*folders: Path) -> list[Path]:
    found = []
    for folder in folders:
        for path in Path(folder).rglob("*"):
            if not path.is_file() or path.is_symlink():
                continue
            with open(path, "rb") as fh:
                head = fh.read(8)
            if path.suffix.lower() in IMAGE_SUFFIXES or head.startswith(IMAGE_MAGIC):
                found.append(path)
    return found


@pytest.mark.tf
def test_cli_run_with_an_int8_model_stores_only_aggregates(tmp_path, tiny_model, clip, yunet_model):
    logs = tmp_path / "logs"
    args = ["run", "--model", str(tiny_model), "--camera", str(clip), "--window", "1"]
    args += ["--log-dir", str(logs), "--start-time", START]
    args += ["--readable-face", "0", "--max-yaw", "0", "--max-pitch", "0", "--min-sharpness", "0"]
    result = CliRunner().invoke(main, args, env={"FER_EDGE_FACE_MODEL": str(yunet_model)})
    assert result.exit_code == 0, result.output
    records = list(read_records(logs))
    assert len(records) == 3
    assert {r["model_sha256"] for r in records} == {sha256_file(tiny_model)}
    assert all(set(r["counts"]) == set(LABELS) for r in records)
    assert scan_for_images(logs) == []


@pytest.mark.tf
def test_sigterm_flushes_a_partial_window_and_notify_order(
    tmp_path, tiny_model, head_bgr, yunet_model
):
    long_clip = write_face_clip(tmp_path / "long.avi", head_bgr, 1500)
    logs, address = tmp_path / "logs", str(tmp_path / "notify")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(address)
    server.settimeout(30)
    env = daemon_env(tmp_path, yunet_model, NOTIFY_SOCKET=address, WATCHDOG_USEC="200000")
    cmd = [str(Path(sys.executable).parent / "fer-edge"), "run", "--model", str(tiny_model)]
    cmd += ["--camera", str(long_clip), "--window", "600", "--log-dir", str(logs)]
    cmd += ["--start-time", START]
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        messages = [server.recv(4096).decode()]
        assert messages[0].startswith("READY=1\nSTATUS=")
        while "WATCHDOG=1" not in messages:
            messages.append(server.recv(4096).decode())
        proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        _, stderr = proc.communicate(timeout=10)
        assert proc.returncode == 0, stderr
        assert time.monotonic() - t0 < 5
        server.settimeout(1)
        while not messages[-1].startswith("STOPPING"):
            messages.append(server.recv(4096).decode())
    finally:
        proc.kill()
        server.close()
    assert messages[-1] == "STOPPING=1"
    assert "EU AI Act" in stderr and "SIGTERM" in stderr
    (record,) = read_records(logs)
    assert record["partial"] and 0 < record["frames_processed"] < 1500
    assert scan_for_images(logs, tmp_path / "tmp") == []


@pytest.mark.tf
def test_truncated_model_and_card_mismatch_give_one_line_errors(tmp_path, tiny_model, clip):
    card = read_card(tiny_model.with_suffix(".json"))
    cases = {}
    truncated = tmp_path / "trunc" / "m.tflite"
    truncated.parent.mkdir()
    truncated.write_bytes(tiny_model.read_bytes()[:2000])
    write_card(_with(card, sha256=sha256_file(truncated)), truncated.with_suffix(".json"))
    cases["not a loadable TFLite model"] = truncated
    swapped = tmp_path / "swap" / "m.tflite"
    swapped.parent.mkdir()
    swapped.write_bytes(tiny_model.read_bytes() + b"\0")
    write_card(card, swapped.with_suffix(".json"))
    cases["does not match its model card"] = swapped
    resized = tmp_path / "size" / "m.tflite"
    resized.parent.mkdir()
    resized.write_bytes(tiny_model.read_bytes())
    write_card(_with(card, crop=CropRecipe(size=48)), resized.with_suffix(".json"))
    cases["model does not match its card"] = resized
    for needle, model in cases.items():
        args = ["run", "--model", str(model), "--camera", str(clip), "--log-dir", str(tmp_path)]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 78, result.output  # EX_CONFIG: systemd must not restart-loop
        lines = [line for line in result.output.splitlines() if line.startswith("fer-edge:")]
        assert len(lines) == 1 and needle in lines[0] and str(model) in lines[0]
        assert not list(tmp_path.glob("fer-edge-*.jsonl"))


def _with(card: ModelCard, **changes) -> ModelCard:
    import dataclasses

    return dataclasses.replace(card, **changes)


@pytest.mark.tf
def test_bench_and_doctor_cli(tmp_path, tiny_model, clip, yunet_model):
    runner = CliRunner()
    common = ["--model", str(tiny_model), "--camera", str(clip), "--face-model", str(yunet_model)]
    result = runner.invoke(main, ["bench", *common, "--max-frames", "40", "--json"])
    assert result.exit_code == 0, result.output
    bench = json.loads(result.stdout)
    assert bench["frames"] == 40  # the 30-frame clip is replayed
    assert bench["faces_per_frame"] >= 12 and bench["detector"] == "yunet"
    assert set(bench["ms_per_frame"]) == {
        "capture",
        "detect",
        "crop",
        "classify",
        "track",
        "aggregate",
    }
    assert bench["batch"]["faces"] >= 12 and bench["peak_rss_mb"] > 0
    result = runner.invoke(main, ["doctor", *common, "--log-dir", str(tmp_path / "logs")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 7
    # the tiny model's card has no calibration: the daemon runs, with pcc, and doctor says so
    (shares,) = [line for line in lines if "shares:" in line]
    assert shares.startswith("WARN  shares: bayes needs the model card's calibration")
    assert all(line.startswith("PASS") for line in lines if line != shares)
    result = runner.invoke(main, ["doctor", "--camera", str(clip), "--log-dir", "/proc/nope"])
    assert result.exit_code == 1
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert any("log dir" in line for line in failed)
    assert not any("model card" in line for line in failed)
    assert "PASS  model card: the packaged default model" in result.stdout  # no --model


# -- one daemon per log folder (an exclusive lock naming its pid) -----------------------------
HOLDER = """
import sys, time
from fer_edge.record.jsonl import JsonlLog
log = JsonlLog(sys.argv[1])
log.prepare()
log.lock()
print("locked", flush=True)
time.sleep(60)
"""


def error_lines(output: str) -> list[str]:
    assert "Traceback" not in output
    return [line for line in output.splitlines() if line.startswith("fer-edge: error:")]


def test_a_second_daemon_on_a_log_dir_in_use_exits_75_naming_the_first_ones_pid(
    tmp_path, fake_model, head_bgr
):
    logs = tmp_path / "logs"
    clip = write_face_clip(tmp_path / "c.avi", head_bgr, 10)
    first = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(logs)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert first.stdout.readline().strip() == "locked"
        args = ["run", "--model", "fake", "--camera", str(clip), "--detector", "haar"]
        result = CliRunner().invoke(main, [*args, "--log-dir", str(logs)])
        assert result.exit_code == 75, result.output  # EX_TEMPFAIL: the service retries later
        [line] = error_lines(result.output)
        assert f"log dir {logs}: another fer-edge daemon writes there (pid {first.pid})" in line
        assert list(read_records(logs)) == []
    finally:
        first.kill()
        first.wait()
    log = JsonlLog(logs)  # the first one killed (its lock file left behind), the folder is free
    log.lock()
    assert (logs / LOCK).read_text() == f"{os.getpid()}\n"
    log.close()
    assert not (logs / LOCK).exists()


def test_a_finished_run_frees_its_log_dir_for_the_next(tmp_path, head_bgr):
    clip = write_face_clip(tmp_path / "c.avi", head_bgr, 10)
    args = ["run", "--model", "fake", "--camera", str(clip), "--start-time", START]
    args += ["--window", "1", "--detector", "haar", "--log-dir", str(tmp_path / "logs")]
    runner = CliRunner()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("fer_edge.assemble.load_classifier", lambda config: FakeClassifier())
        for _ in range(2):  # a Daemon object that outlives its run holds no lock
            result = runner.invoke(main, args)
            assert result.exit_code == 0, result.output
    assert len(list(read_records(tmp_path / "logs"))) == 2
    assert not (tmp_path / "logs" / LOCK).exists()


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="no /proc")
@pytest.mark.parametrize("folder", ["/proc", "/proc/fer-edge-logs"])
def test_a_log_dir_in_proc_says_it_takes_no_files(folder, fake_model):
    result = CliRunner().invoke(
        main, ["run", "--model", "fake", "--camera", "0", "--log-dir", folder]
    )
    assert result.exit_code == 78, result.output
    [line] = error_lines(result.output)
    assert "/proc takes no new files" in line and "No such file" not in line


def test_the_last_line_counts_records_still_waiting_for_the_mqtt_broker(
    tmp_path, head_bgr, fake_model
):
    needs("paho.mqtt")
    from helpers.mosquitto import free_port

    clip = write_face_clip(tmp_path / "c.avi", head_bgr, 30)
    logs = tmp_path / "logs"
    args = ["run", "--model", "fake", "--camera", str(clip), "--start-time", START]
    args += ["--window", "1", "--detector", "haar", "--log-dir", str(logs)]
    args += ["--mqtt-host", "127.0.0.1", "--mqtt-port", str(free_port())]  # no broker there
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert len(list(read_records(logs))) == 3
    assert "3 windows written" in result.output
    assert "3 waiting for the MQTT broker" in result.output
