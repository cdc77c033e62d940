"""The capture section of the run's configuration: which camera, and how to treat it."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ..options import bad, check_fields, option

#: The camera names that are not files: an index, a device, a URL, the Pi camera, a GStreamer
#: pipeline (``gst:...``) or a Jetson CSI camera (``nvargus[:N]``).
PICAMERA2 = "picamera2"
NVARGUS = "nvargus"


def is_file_camera(spec: str) -> bool:
    """Whether camera ``spec`` names a video file (rather than an index, device or URL)."""
    spec = str(spec).strip()
    return not (
        spec in (PICAMERA2, NVARGUS)
        or spec.isdigit()
        or spec.startswith(("/dev/", "gst:", "nvargus:"))
        or "://" in spec
    )


def parse_size(text: str) -> tuple[int, int]:
    """``"1920x1080"`` as (1920, 1080); each side in [16, 8192]."""
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        raise ValueError("not a size WIDTHxHEIGHT, e.g. 1920x1080")
    size = int(width), int(height)
    if not all(16 <= side <= 8192 for side in size):
        raise ValueError("each side must lie in [16, 8192] px")
    return size


@dataclass
class CaptureOptions:
    """Where frames come from (:mod:`.devices`), at what size and rate, how long to wait for
    them, and how many."""

    camera: str = option(
        "0",
        "0 (V4L2 index), /dev/video0, a video file, rtsp://..., picamera2.",
        path=is_file_camera,
    )
    capture_size: str = option(
        "1280x720", "Camera capture size WxH (V4L2, picamera2, GStreamer); files/RTSP as they come."
    )
    capture_fps: float = option(
        0.0,
        "Camera frame rate to ask for; 0: the camera's default.",
        ge=0,
        le=240,
        note="0: the camera's default",
    )
    pixel_format: str = option(
        "auto", "V4L2 pixel format (auto: MJPG above 640x480).", ("auto", "MJPG", "YUYV", "H264")
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
        try:
            parse_size(self.capture_size)
        except ValueError as exc:
            raise bad("capture_size", self.capture_size, str(exc)) from None
        camera = self.camera.strip()
        if is_file_camera(camera) and Path(camera).is_dir():
            raise bad("camera", self.camera, "a directory, not a video file")
        if is_file_camera(camera) and not Path(camera).is_file():
            why = (
                "not a camera index, /dev path, URL, 'picamera2', 'gst:PIPELINE', 'nvargus' or an "
                "existing file"
            )
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
