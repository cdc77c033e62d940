"""Opening the source a ``--camera`` names: V4L2, a device path, RTSP/HTTP, picamera2, a file."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import numpy as np

from ..contract.errors import ConfigError
from .events import Device, FrameSource
from .filesource import FileSource
from .livesource import LiveSource

log = logging.getLogger(__name__)

PICAMERA2_HINT = (
    "picamera2 is not importable: it exists only on a Raspberry Pi; there run "
    "`sudo apt install python3-picamera2` and create the virtualenv with "
    "`python3 -m venv --system-site-packages`"
)


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
