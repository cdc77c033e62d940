"""``fer-edge run`` end to end on clips of real (tiled astronaut) faces."""

from __future__ import annotations

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

from fer_edge.assemble import build_pipeline
from fer_edge.cli import main
from fer_edge.contract.card import ModelCard, read_card, sha256_file, write_card
from fer_edge.contract.labels import LABELS
from fer_edge.contract.recipe import CropRecipe
from fer_edge.daemon import Daemon
from fer_edge.record.jsonl import log_path, read_records
from helpers import REPO
from helpers.clips import START, write_face_clip
from helpers.fakes import NO_GATE, FakeClassifier, clip_config
from helpers.skips import needs

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"BM", b"GIF8", b"II*\x00", b"MM\x00*", b"RIFF", b"P6")


@pytest.fixture(scope="module")
def clip(tmp_path_factory, head_bgr):
    return write_face_clip(tmp_path_factory.mktemp("clip") / "faces.avi", head_bgr, 30)


def test_daemon_windows_follow_the_video_and_are_reproducible(tmp_path, clip, yunet_model):
    runs = []
    for name in ("a", "b"):
        config = clip_config(clip, yunet_model, tmp_path / name, **NO_GATE)
        classifier = FakeClassifier()
        summary = Daemon(build_pipeline(config, classifier=classifier)).run()
        assert summary.frames_processed == 30
        assert all(n >= 12 for n in classifier.calls)  # all faces of a frame in one call
        runs.append(list(read_records(tmp_path / name)))
    assert runs[0] == runs[1]
    records = runs[0]
    assert [r["start"][11:19] for r in records] == ["08:00:00", "08:00:01", "08:00:02"]
    for r in records:
        assert r["frames_processed"] == 10 and not r["suppressed"] and "partial" not in r
        assert r["tracks"] >= 12 and r["faces_max"] >= 12
        assert sum(r["counts"].values()) == r["face_observations"]
        assert sum(r["shares"].values()) == pytest.approx(1.0, abs=1e-3)
        assert r["model_sha256"] == "ab" * 32 and r["camera"]["status"] == "ok"


def test_min_group_suppresses_small_windows(tmp_path, clip, yunet_model):
    config = clip_config(clip, yunet_model, tmp_path, min_group=40)
    Daemon(build_pipeline(config, classifier=FakeClassifier())).run()
    records = list(read_records(tmp_path))
    assert records and all(r["suppressed"] for r in records)
    assert not any({"counts", "shares", "mean_confidence"} & r.keys() for r in records)


def test_max_fps_drops_and_counts_frames(tmp_path, clip, yunet_model):
    config = clip_config(clip, yunet_model, tmp_path, window=10.0, max_fps=5.0)
    Daemon(build_pipeline(config, classifier=FakeClassifier())).run()
    (record,) = read_records(tmp_path)
    assert (record["frames_seen"], record["frames_processed"], record["frames_dropped"]) == (
        30,
        15,
        15,
    )
    assert record["partial"]  # the file ended 7 s before the window


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_full_disk_keeps_the_daemon_running(tmp_path, clip, yunet_model):
    log_path(tmp_path, "2026-01-05").symlink_to("/dev/full")
    config = clip_config(clip, yunet_model, tmp_path)
    summary = Daemon(build_pipeline(config, classifier=FakeClassifier())).run()
    assert summary.frames_processed == 30 and summary.records_dropped == 3
    assert summary.windows == 0  # a dropped record is never counted as written


# -- with a real int8 model (built with TensorFlow in this process; run without it) ------------
@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    needs("tensorflow")
    from helpers.tiny_model import make_tiny_tflite

    return make_tiny_tflite(tmp_path_factory.mktemp("model"), size=32, mode="int8")


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


def daemon_env(tmp_path: Path, yunet_model: Path, **extra) -> dict:
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    return {**env, "TMPDIR": str(tmp), "FER_EDGE_FACE_MODEL": str(yunet_model), **extra}


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
def test_no_tensorflow_in_the_daemon_process(tmp_path, tiny_model, clip, yunet_model):
    code = f"""
import importlib, pkgutil, sys
import fer_edge
for m in pkgutil.walk_packages(fer_edge.__path__, "fer_edge."):
    if not m.name.endswith("__main__"):
        importlib.import_module(m.name)
from fer_edge.config import build_config
from fer_edge.assemble import build_pipeline
from fer_edge.daemon import Daemon
config = build_config(None, {{"model": {str(tiny_model)!r}, "camera": {str(clip)!r},
                             "log_dir": {str(tmp_path / "logs")!r}, "window": 1.0}})
summary = Daemon(build_pipeline(config)).run()
assert summary.frames_processed == 30, summary
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras"))
print("TF-MODULES", bad)
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=daemon_env(tmp_path, yunet_model),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    assert "TF-MODULES []" in result.stdout


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
    assert len(lines) == 6 and all(line.startswith("PASS") for line in lines)
    result = runner.invoke(main, ["doctor", "--camera", str(clip), "--log-dir", "/proc/nope"])
    assert result.exit_code == 1
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert any("log dir" in line for line in failed)
    assert not any("model card" in line for line in failed)
    assert "PASS  model card: the packaged default model" in result.stdout  # no --model
