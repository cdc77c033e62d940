"""Run the real ``fer-edge run`` on a looping clip that behaves like a camera, for soak and drill.

The daemon process is the ``fer-edge`` command line itself (signals, logging, exit codes, the
live source's capture thread, reconnection); only the camera is stood in for: a clip of tiled
astronaut faces, looped at its frame rate. While ``CONTROL/stall`` exists the camera stops
delivering (a read blocks), as a hung USB camera does. Nothing here writes frames or faces.

As a process (what the benches start)::

    python bench/daemon_harness.py CLIP CONTROL_DIR -- run --model M --camera 0 ...

As a module: :func:`start` launches it with a notify socket, :class:`Daemon` samples it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = REPO.parent / "shared" / "models" / "default" / "fer-resnet50-96-int8.tflite"
YUNET_TEST_MODEL = REPO.parent / "shared" / "models" / "yunet-test.onnx"


class LoopedClip:
    """A ``Device`` (read/release) that plays ``clip`` in a loop at ``fps``, like a camera."""

    def __init__(self, clip: Path, control: Path, fps: float) -> None:
        import cv2

        self._cv2, self._clip, self._control = cv2, str(clip), control
        self._cap = cv2.VideoCapture(self._clip)
        self._period = 1.0 / fps
        self._next = time.monotonic()

    def read(self):
        while (self._control / "stall").exists():
            time.sleep(0.05)
        delay = self._next - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._next = max(self._next + self._period, time.monotonic() - self._period)
        ok, frame = self._cap.read()
        if not ok:  # the end of the clip: from the start again
            self._cap.release()
            self._cap = self._cv2.VideoCapture(self._clip)
            ok, frame = self._cap.read()
        return ok, frame

    def release(self) -> None:
        self._cap.release()


def _serve(clip: Path, control: Path, args: list[str]) -> None:
    """Be ``fer-edge`` with the looping clip standing in for every live camera."""
    from fer_edge import assemble
    from fer_edge.capture.livesource import LiveSource
    from fer_edge.cli import main

    fps = float(json.loads((control / "clip.json").read_text())["fps"])

    def open_source(
        spec, frame_timeout=5.0, reconnect_max=30.0, start=None, give_up=0.0, capture=None
    ):
        return LiveSource(
            lambda: LoopedClip(clip, control, fps),
            f"camera {spec} (looped clip)",
            frame_timeout,
            reconnect_max,
            give_up=give_up,
        )

    assemble.open_source = open_source
    main(args, prog_name="fer-edge")


# -- the bench side ------------------------------------------------------------------------------
def write_looping_clip(path: Path, control: Path, seconds: float = 10.0, fps: int = 15) -> int:
    """The demo's classroom clip (15 drifting astronaut faces, 640x360); returns faces."""
    sys.path.insert(0, str(REPO / "scripts"))
    from demo_clip import write_clip

    faces = write_clip(path, seconds, fps)
    control.mkdir(parents=True, exist_ok=True)
    (control / "clip.json").write_text(json.dumps({"fps": fps}))
    return faces


def model_for_bench(tmp: Path) -> Path:
    """The trained default model: ../shared's copy when present, else the one fer_edge ships
    (the same file)."""
    if DEFAULT_MODEL.is_file():
        return DEFAULT_MODEL
    from fer_edge.classify.packaged_model import default_model_path

    return default_model_path()


def face_model() -> Path:
    env = os.environ.get("FER_EDGE_FACE_MODEL")
    if env:
        return Path(env)
    if YUNET_TEST_MODEL.is_file():
        return YUNET_TEST_MODEL
    raise SystemExit("no YuNet model: set FER_EDGE_FACE_MODEL (see `fer-edge models path`)")


def run_args(model: Path) -> list[str]:
    """``fer-edge run`` on the stood-in camera with ``model`` and the YuNet model."""
    return ["run", "--model", str(model), "--camera", "0", "--face-model", str(face_model())]


class Daemon:
    """``fer-edge run`` on the looping clip, with its sd_notify messages and stderr collected."""

    def __init__(self, tmp: Path, clip: Path, control: Path, run_args: list[str], nice: int = 0):
        self.messages: list[tuple[float, str]] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        address = str(tmp / "notify")
        self._sock.bind(address)
        self._sock.settimeout(0.2)
        self.stderr_path = tmp / "daemon.stderr"
        env = {k: v for k, v in os.environ.items() if k not in ("WATCHDOG_USEC", "INVOCATION_ID")}
        env.update(NOTIFY_SOCKET=address, WATCHDOG_USEC="10000000", PYTHONUNBUFFERED="1")
        cmd = [sys.executable, str(Path(__file__)), str(clip), str(control), "--", *run_args]
        if nice:
            cmd = ["nice", "-n", str(nice), *cmd]
        self._stderr = open(self.stderr_path, "w")  # noqa: SIM115 - closed in wait()
        self.proc = subprocess.Popen(
            cmd, env=env, cwd=tmp, stdin=subprocess.DEVNULL, stderr=self._stderr
        )
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.append((time.monotonic() - self.started, data.decode()))

    def wait_for(self, predicate, timeout: float, what: str) -> float:
        """Seconds until ``predicate()`` held; SystemExit naming ``what`` after ``timeout``."""
        t0 = time.monotonic()
        while not predicate():
            if self.proc.poll() is not None:
                raise SystemExit(f"daemon exited ({self.proc.returncode}) waiting for {what}")
            if time.monotonic() - t0 > timeout:
                raise SystemExit(f"timed out after {timeout:g} s waiting for {what}")
            time.sleep(0.1)
        return time.monotonic() - t0

    def said(self, needle: str) -> bool:
        return needle in self.stderr_path.read_text(errors="replace")

    def notified(self, prefix: str) -> list[str]:
        return [m for _, m in self.messages if any(x.startswith(prefix) for x in m.split("\n"))]

    def sample(self) -> dict:
        """RSS (MB) and open file descriptors of the daemon, from /proc."""
        pid = self.proc.pid
        status = Path(f"/proc/{pid}/status").read_text()
        rss_kb = next(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")
        )
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        return {"t": round(time.monotonic() - self.started, 1), "rss_mb": rss_kb / 1024, "fds": fds}

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 30.0) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            time.sleep(0.3)  # the last sd_notify datagrams
            self._stop.set()
            self._thread.join(1)
            self._sock.close()
            self._stderr.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


def check_log(log_dir: Path) -> dict:
    """Every line of every log file: parses? torn? duplicated windows? windows contiguous?"""
    lines = bad = 0
    records = []
    for path in sorted(log_dir.glob("fer-edge-*.jsonl")):
        data = path.read_bytes()
        torn_end = bool(data) and not data.endswith(b"\n")
        for line in data.split(b"\n"):
            if not line:
                continue
            lines += 1
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                bad += 1
        bad += torn_end
    starts = [r["start"] for r in records]
    breaks = [
        {"after": a["end"], "next": b["start"]}
        for a, b in zip(records, records[1:], strict=False)
        if a["end"] != b["start"]
    ]
    return {
        "records": len(records),
        "lines": lines,
        "unparsable_or_torn": bad,
        "duplicated_windows": len(starts) - len(set(starts)),
        "breaks": breaks,
        "records_list": records,
    }


if __name__ == "__main__":
    split = sys.argv.index("--")
    _serve(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[split + 1 :])
