"""One daemon per log folder (an exclusive lock naming its pid), folders that take no files,
and what the run's last line says about records still waiting for the MQTT broker."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from fer_edge.cli import main
from fer_edge.contract.errors import LogDirBusy
from fer_edge.record.jsonl import LOCK, JsonlLog, read_records
from helpers.clips import START, write_face_clip
from helpers.fakes import FakeClassifier
from helpers.skips import needs

HOLDER = """
import sys, time
from fer_edge.record.jsonl import JsonlLog
log = JsonlLog(sys.argv[1])
log.prepare()
log.lock()
print("locked", flush=True)
time.sleep(60)
"""


@pytest.fixture
def fake_model(monkeypatch):
    monkeypatch.setattr("fer_edge.assemble.load_classifier", lambda config: FakeClassifier())


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


def test_two_logs_on_one_folder_in_one_process_conflict_until_the_first_closes(tmp_path):
    first, second = JsonlLog(tmp_path), JsonlLog(tmp_path)
    first.lock()
    with pytest.raises(LogDirBusy, match=rf"\(pid {os.getpid()}\)"):
        second.lock()
    first.close()
    second.lock()
    with pytest.raises(LogDirBusy):
        JsonlLog(tmp_path).lock()
    second.close()
    assert list(tmp_path.iterdir()) == []


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
