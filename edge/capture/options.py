"""The capture section of the run's configuration: which camera, and how to treat it."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ..options import bad, check_fields, option

#: The camera names that are not files: an index, a device, a URL, the Pi camera.
PICAMERA2 = "picamera2"


def is_file_camera(spec: str) -> bool:
    """Whether camera ``spec`` names a video file (rather than an index, device or URL)."""
    spec = str(spec).strip()
    return not (spec == PICAMERA2 or spec.isdigit() or spec.startswith("/dev/") or "://" in spec)


@dataclass
class CaptureOptions:
    """Where frames come from (:mod:`.sources`), how long to wait for them, and how many."""

    camera: str = option(
        "0",
        "0 (V4L2 index), /dev/video0, a video file, rtsp://..., picamera2.",
        path=is_file_camera,
    )
    start_time: str | None = option(
        None,
        "File sources: ISO time of the video's first frame [file mtime].",
        example="2026-01-05T08:00:00Z",
    )
    frame_timeout: float = option(
        5.0, "Seconds without a frame before the camera is lost.", gt=0, le=3600
    )
    reconnect_max: float = option(
        30.0, "Longest wait between reopen attempts, seconds.", gt=0, le=3600
    )
    camera_wait: float | None = option(
        None,
        "Give up (exit 69) without a first frame after this many seconds; 0: retry forever "
        "[30 at a terminal, else 0].",
        ge=0,
        le=86400,
        note="0: retry forever",
        example=30.0,
    )
    max_fps: float = option(
        0.0, "Process at most this many frames per second; 0: all.", ge=0, le=1000, note="0: no cap"
    )
    max_frames: int = option(
        0, "Stop after this many frames; 0: never.", ge=0, le=10**12, note="0: no limit"
    )

    @property
    def resolved_camera_wait(self) -> float:
        """Seconds to wait for a first frame before giving up (exit 69); 0: retry forever.

        Default: 30 s at a terminal (a person wants a quick, clear failure), forever under
        systemd or without a terminal (a service outlives a camera that is plugged in later).
        """
        if self.camera_wait is not None:
            return self.camera_wait
        return 30.0 if _interactive() else 0.0

    def validate(self) -> None:
        check_fields(self)
        camera = self.camera.strip()
        if is_file_camera(camera) and not Path(camera).is_file():
            why = "not a camera index, /dev path, URL, 'picamera2' or an existing file"
            raise bad("camera", self.camera, why)
        if self.start_time is not None:
            from ..record.timeutil import parse_iso

            try:
                parse_iso(self.start_time)
            except ValueError:
                raise bad("start_time", self.start_time, "not an ISO 8601 time") from None


def _interactive() -> bool:
    """A person at a terminal, not a service: stdin is a TTY and systemd did not start us."""
    if os.environ.get("INVOCATION_ID") or os.environ.get("NOTIFY_SOCKET"):
        return False
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (OSError, ValueError):  # a closed stdin
        return False
