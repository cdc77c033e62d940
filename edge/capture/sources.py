"""Frame sources: a video file, a V4L2 camera, a device path, an RTSP/HTTP URL, or picamera2.

A source is an iterable of :class:`SourceEvent`: every frame (epoch seconds and a BGR uint8
frame) and everything else its reader needs to know, in the order it happened. A live source
also yields heartbeats while no frame arrives, so the reader can close windows and notice a
stop request; it never invents (black or repeated) frames. A lost camera is reopened with
exponential backoff: every attempt that fails is logged in one line (which camera, why, when the
next attempt is) and yielded as an event with that line. With ``give_up``, a camera that
delivers no first frame within that many seconds raises :class:`CameraUnavailable`.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..contract.errors import CameraUnavailable, ConfigError, FerError

log = logging.getLogger(__name__)

PICAMERA2_HINT = (
    "picamera2 is not importable: it exists only on a Raspberry Pi; there run "
    "`sudo apt install python3-picamera2` and create the virtualenv with "
    "`python3 -m venv --system-site-packages`"
)


class SourceLost(FerError):
    """A source without reconnection stalled or lost its camera."""


#: The kinds of :class:`SourceEvent`.
FRAME, HEARTBEAT, LOST, FOUND, DROPPED, RETRYING = (
    "frame",
    "heartbeat",
    "lost",
    "found",
    "dropped",
    "retrying",
)


@dataclass(frozen=True)
class SourceEvent:
    """One thing a source tells its reader; ``ts`` is epoch seconds (a file's: video time).

    - ``frame``: ``frame`` is the next BGR frame, taken at ``ts``.
    - ``heartbeat``: alive, no frame (the camera may be blocked in a read).
    - ``lost``: the camera is gone since ``ts`` (its last frame); once a gap. ``problem`` is
      what is wrong now and what the source does about it, as logged; ``why`` the reason alone.
    - ``retrying``: alive and reopening the camera (progress, not a hang); ``problem``, ``why``.
    - ``found``: frames again from ``ts`` (the gap ends; the frame itself follows).
    - ``dropped``: the source skipped ``count`` frames (its reader was slower than the camera).
    """

    kind: str
    ts: float
    frame: np.ndarray | None = None
    problem: str | None = None
    why: str | None = None
    count: int = 0


class Device(Protocol):
    """What a live source reads from: ``cv2.VideoCapture`` has this shape."""

    def read(self) -> tuple[bool, np.ndarray | None]: ...

    def release(self) -> None: ...


class FrameSource:
    """Base: ``live`` sources use the wall clock; file sources use the video's own time."""

    live = True
    name = ""

    def __iter__(self) -> Iterator[SourceEvent]:
        raise NotImplementedError

    def close(self) -> None:
        """Ask the iteration to end soon (safe from a signal handler or another thread)."""


class FileSource(FrameSource):
    """A video file, read frame by frame; timestamps are ``start + index / fps``.

    Windows therefore depend only on the file, not on the machine's speed. ``start`` defaults to
    the file's modification time (whole seconds).
    """

    live = False

    def __init__(self, path: str | os.PathLike, start: float | None = None) -> None:
        import cv2

        self.path = Path(path)
        self.name = str(self.path)
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise FerError(f"{self.path}: cannot open as a video file")
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if not 0.5 <= fps <= 1000.0:
            log.warning("%s: frame rate unknown (%r); assuming 25 fps", self.path, fps)
            fps = 25.0
        self.fps = fps
        self.start = float(int(self.path.stat().st_mtime)) if start is None else start
        self._stop = threading.Event()

    def __iter__(self) -> Iterator[SourceEvent]:
        index = 0
        try:
            while not self._stop.is_set():
                ok, frame = self._cap.read()
                if not ok or frame is None:
                    log.info("%s: end of file after %d frames", self.path, index)
                    return
                yield SourceEvent(FRAME, self.start + index / self.fps, frame)
                index += 1
        finally:
            self._cap.release()

    def close(self) -> None:
        self._stop.set()


class _Lost:
    """The worker's message that the camera is gone: why, and the line it logged."""

    def __init__(self, why: str, problem: str) -> None:
        self.why, self.problem = why, problem


class LiveSource(FrameSource):
    """A live camera read by a worker thread, with a frame timeout and reconnection.

    ``opener()`` returns an open :class:`Device` or None. Only the newest frame is kept: when
    the consumer is slower than the camera, older frames are dropped and reported in a
    ``dropped`` event. With ``reconnect=False`` a stall or loss raises :class:`SourceLost`
    instead. An opener may raise an exception whose message says why the camera does not open.
    """

    def __init__(
        self,
        opener: Callable[[], Device | None],
        name: str,
        frame_timeout: float = 5.0,
        reconnect_max: float = 30.0,
        reconnect: bool = True,
        clock: Callable[[], float] = time.time,
        tick: float = 0.5,
        backoff_start: float = 0.5,
        give_up: float = 0.0,
    ) -> None:
        self._opener, self.name = opener, name
        self.frame_timeout, self.reconnect_max, self.reconnect = (
            frame_timeout,
            reconnect_max,
            reconnect,
        )
        self._clock, self._tick, self._backoff_start = clock, tick, backoff_start
        self.give_up = give_up
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._reset = threading.Event()
        self._thread: threading.Thread | None = None
        # worker -> reader: frames skipped so far; reopening (alive), not blocked in a read
        self._dropped = 0
        self._retrying = False
        self._stall_why = ""  # reader -> worker: why the reader asked for a reopen
        # the reader's own state
        self._lost = False
        self._problem: str | None = None  # the last line logged about the camera
        self._why: str | None = None  # the last reason it was lost (kept after it came back)

    # -- worker thread -------------------------------------------------------------------------
    def _post(self, item: Any) -> None:
        """Queue ``item``; a new frame replaces an unread one, a loss marker never does."""
        while isinstance(item, _Lost) and not self._stop.is_set():
            try:
                self._queue.put(item, timeout=self._tick)
                return
            except queue.Full:
                continue
        while not self._stop.is_set():
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                try:
                    old = self._queue.get_nowait()
                except queue.Empty:
                    continue
                if not isinstance(old, _Lost):
                    self._dropped += 1

    def _open(self) -> tuple[Device | None, str]:
        try:
            device = self._opener()
        except Exception as exc:  # noqa: BLE001 - any open failure is a lost camera; retried
            return None, str(exc) or f"cannot open ({type(exc).__name__})"
        return device, "" if device is not None else "cannot open the camera"

    def _retry(self, why: str, delay: float) -> None:
        """One backoff step: say which camera, why and when the next attempt is; then wait."""
        problem = f"{self.name}: {why}; next attempt in {delay:g} s"
        if self.reconnect:
            log.warning("%s", problem)
        self._post(_Lost(why, problem))
        self._retrying = True  # after the message: the reader learns why before it sees this
        self._stop.wait(delay)

    def _worker(self) -> None:
        device: Device | None = None
        delay = self._backoff_start
        try:
            while not self._stop.is_set():
                if device is None:
                    device, why = self._open()
                    if device is None:
                        self._retry(why, delay)
                        delay = min(delay * 2, self.reconnect_max)
                        continue
                self._retrying = False
                ok, frame = device.read()
                if self._reset.is_set() or not ok or frame is None:
                    why = self._stall_why if self._reset.is_set() else "read failed"
                    self._reset.clear()
                    device.release()
                    device = None
                    self._retry(why or "read failed", delay)
                    delay = min(delay * 2, self.reconnect_max)
                    continue
                delay = self._backoff_start
                self._post((self._clock(), frame))
        finally:
            if device is not None:
                device.release()

    # -- reader ------------------------------------------------------------------------------
    def _mark_lost(self, ts: float, why: str, problem: str) -> SourceEvent | None:
        """The ``lost`` event for a gap since ``ts`` (None while already lost)."""
        self._why, self._problem = why, problem
        if self._lost:
            return None
        if not self.reconnect:
            raise SourceLost(f"{self.name}: {why}")
        self._lost = True
        return SourceEvent(LOST, ts, problem=problem, why=why)

    def _idle(self, ts: float, retrying: bool) -> SourceEvent:
        if retrying:
            return SourceEvent(RETRYING, ts, problem=self._problem, why=self._why)
        return SourceEvent(HEARTBEAT, ts)

    def _check_give_up(self, started: float, seen: bool) -> None:
        if seen or not self.give_up or self._clock() - started < self.give_up:
            return
        raise CameraUnavailable(
            f"{self.name}: no frame within {self.give_up:g} s "
            f"({self._why or 'no frame arrived'}); giving up (camera-wait {self.give_up:g}; "
            "0 keeps retrying)"
        )

    def __iter__(self) -> Iterator[SourceEvent]:
        self._thread = threading.Thread(target=self._worker, name="capture", daemon=True)
        self._thread.start()
        last = started = self._clock()
        seen = False
        dropped = 0
        try:
            while not self._stop.is_set():
                self._check_give_up(started, seen)
                try:
                    item = self._queue.get(timeout=self._tick)
                except queue.Empty:
                    now = self._clock()
                    if now - last > self.frame_timeout and not self._lost:
                        why = self._stall_why = f"no frame for {self.frame_timeout:g} s"
                        problem = f"{self.name}: {why}; reopening"
                        if self.reconnect:
                            log.warning("%s", problem)
                        event = self._mark_lost(last, why, problem)
                        self._reset.set()
                        if event:
                            yield event
                    yield self._idle(now, self._retrying)
                    continue
                if isinstance(item, _Lost):
                    event = self._mark_lost(last, item.why, item.problem)
                    if event:
                        yield event
                    yield self._idle(self._clock(), True)
                    continue
                ts, frame = item
                seen, self._problem = True, None
                if self._lost:
                    self._lost = False
                    log.warning("%s: frames again", self.name)
                    yield SourceEvent(FOUND, ts)
                if self._dropped != dropped:
                    yield SourceEvent(DROPPED, ts, count=self._dropped - dropped)
                    dropped = self._dropped
                last = ts
                yield SourceEvent(FRAME, ts, frame)
        finally:
            self._stop.set()
            self._thread.join(timeout=2.0)

    def close(self) -> None:
        self._stop.set()


def _cv2_opener(target: int | str, backend: int, params: list[int] | None = None):
    import cv2

    def opener() -> Device | None:
        cap = cv2.VideoCapture(target, backend, params or [])
        if not cap.isOpened():
            cap.release()
            raise OSError(why_not_open(target))
        return cap

    return opener


def why_not_open(target: int | str) -> str:
    """Our words for a camera OpenCV could not open (OpenCV's own lines are silenced)."""
    if isinstance(target, str) and "://" in target:
        return "cannot connect to the stream (check the address, the network and the password)"
    if not sys.platform.startswith("linux"):
        return "cannot open the camera"
    device = f"/dev/video{target}" if isinstance(target, int) else str(target)
    name = f"{device} " if isinstance(target, int) else ""  # a path is already the source's name
    if not os.path.exists(device):
        return f"{name}does not exist (not plugged in?)"
    if not os.access(device, os.R_OK | os.W_OK):
        return f"{name}permission denied (is the user in the 'video' group?)"
    return f"{name}does not open as a capture device (busy, or not a camera?)"


class _Picamera2Device:
    def __init__(self) -> None:
        from picamera2 import Picamera2

        self._cam = Picamera2()
        # "RGB888" gives pixels in B, G, R byte order: what OpenCV calls BGR.
        config = self._cam.create_video_configuration(main={"format": "RGB888", "size": (640, 480)})
        self._cam.configure(config)
        self._cam.start()

    def read(self) -> tuple[bool, np.ndarray | None]:
        try:
            return True, self._cam.capture_array("main")
        except Exception as exc:  # noqa: BLE001 - any capture failure means a lost camera
            log.debug("picamera2 capture failed: %s", exc)
            return False, None

    def release(self) -> None:
        self._cam.close()


def open_source(
    spec: str,
    frame_timeout: float = 5.0,
    reconnect_max: float = 30.0,
    start: float | None = None,
    give_up: float = 0.0,
) -> FrameSource:
    """The source named by ``spec``: an index, ``/dev/...``, a URL, ``picamera2`` or a file.

    ``give_up``: seconds a live source may go without a first frame (0: retry forever).
    """
    import cv2

    spec = str(spec).strip()
    live = {"frame_timeout": frame_timeout, "reconnect_max": reconnect_max, "give_up": give_up}
    v4l2 = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
    if spec == "picamera2":
        try:
            import picamera2  # noqa: F401
        except ImportError:
            raise ConfigError(PICAMERA2_HINT) from None
        return LiveSource(_Picamera2Device, "picamera2", **live)
    if spec.isdigit():
        return LiveSource(_cv2_opener(int(spec), v4l2), f"camera {spec}", **live)
    if spec.startswith("/dev/"):
        return LiveSource(_cv2_opener(spec, v4l2), spec, **live)
    if "://" in spec:
        ms = int(frame_timeout * 1000)
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
        return LiveSource(_cv2_opener(spec, cv2.CAP_FFMPEG, params), _redact(spec), **live)
    if Path(spec).is_file():
        return FileSource(spec, start=start)
    raise ConfigError(
        f"camera {spec!r}: not a camera index, /dev path, URL, 'picamera2' "
        "or an existing video file"
    )


def _redact(url: str) -> str:
    """A URL without its password, for logs."""
    scheme, _, rest = url.partition("://")
    if "@" in rest.split("/", 1)[0]:
        rest = "***@" + rest.split("@", 1)[1]
    return f"{scheme}://{rest}"
