"""A video file as a frame source, on the video's own clock."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from ..contract.errors import FerError
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
