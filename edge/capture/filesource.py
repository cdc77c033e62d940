"""A video file as a frame source, on the video's own clock.

FFmpeg (inside OpenCV) writes its complaints about a broken file ("moov atom not found") straight
to the process's stderr, past the logging set-up; they are caught while the file is opened and
read, logged at debug level, and the last one names the problem in our own message.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..contract.errors import ConfigError
from .events import FRAME, FrameSource, SourceEvent

log = logging.getLogger(__name__)


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
        if self.path.is_dir():
            raise ConfigError(f"{self.path}: a directory, not a video file")
        self._native = NativeStderr()
        with self._native.caught():
            self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            self._native.close()
            why = f": {self._native.last}" if self._native.last else ""
            raise ConfigError(f"{self.path}: not a video file (cannot be decoded{why})")
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if not 0.5 <= fps <= 1000.0:
            log.warning("%s: frame rate unknown (%r); assuming 25 fps", self.path, fps)
            fps = 25.0
        self.fps = fps
        self.frame_size = (
            int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
        self.declared_frames = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        log.info("%s: %dx%d at %g fps", self.path, *self.frame_size, fps)
        self.start = float(int(self.path.stat().st_mtime)) if start is None else start
        self._stop = threading.Event()

    def __iter__(self) -> Iterator[SourceEvent]:
        index = 0
        try:
            while not self._stop.is_set():
                with self._native.caught():
                    ok, frame = self._cap.read()
                if not ok or frame is None:
                    self._ended(index)
                    return
                yield SourceEvent(FRAME, self.start + index / self.fps, frame)
                index += 1
        finally:
            self._cap.release()
            self._native.close()

    def _ended(self, frames: int) -> None:
        """Log the end; warn when the file holds fewer frames than its header declares."""
        declared = self.declared_frames
        if declared > 0 and frames < declared - max(1, declared // 100):
            why = f"; FFmpeg: {self._native.last}" if self._native.last else ""
            log.warning(
                "%s: ends after %d of the %d frames its header declares (truncated?%s)",
                self.path, frames, declared, why,
            )  # fmt: skip
        else:
            log.info("%s: end of file after %d frames", self.path, frames)

    def close(self) -> None:
        self._stop.set()


class NativeStderr:
    """Catches what native code writes to file descriptor 2 within :meth:`caught`.

    Each line is logged at debug level (``last`` keeps the latest); lines that are not FFmpeg's
    (``[name @ 0x...]``) are passed on to stderr, so another thread's log line is not lost.
    Writes beyond the pipe's buffer are dropped rather than blocking the writer.
    """

    def __init__(self) -> None:
        self.last = ""
        try:
            self._read, self._write = os.pipe()
        except OSError:  # out of descriptors: leave stderr alone
            self._read = self._write = -1
            return
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)

    @contextmanager
    def caught(self):
        saved = -1
        if self._write >= 0:
            try:
                sys.stderr.flush()
                saved = os.dup(2)
                os.dup2(self._write, 2)
            except (OSError, ValueError, AttributeError):  # no stderr to replace
                saved = -1
        try:
            yield
        finally:
            if saved >= 0:
                os.dup2(saved, 2)
                os.close(saved)
                self._drain()

    def _drain(self) -> None:
        data = b""
        while True:
            try:
                chunk = os.read(self._read, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            data += chunk
        for line in data.decode("utf-8", "replace").splitlines():
            line = line.strip()
            if not line:
                continue
            if line.startswith("[") and " @ 0x" in line:
                self.last = line.split("]", 1)[-1].strip()
                log.debug("ffmpeg: %s", line)
            else:
                print(line, file=sys.stderr)

    def close(self) -> None:
        for fd in (self._read, self._write):
            if fd >= 0:
                os.close(fd)
        self._read = self._write = -1
