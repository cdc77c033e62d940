"""Opening the source a ``--camera`` names: V4L2, a device path, RTSP/HTTP, picamera2, a
GStreamer pipeline (``gst:...``; ``nvargus`` for a Jetson CSI camera) or a video file.

Cameras that can be told are asked for :class:`CaptureSettings` (size, frame rate, V4L2 pixel
format); each logs the size it actually delivers. Streams and files come as they are.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..contract.errors import ConfigError
from .events import Device, FrameSource, FrameWithCopy
from .filesource import FileSource
from .livesource import LiveSource
from .options import parse_size

log = logging.getLogger(__name__)

PICAMERA2_HINT = (
    "picamera2 is not importable: it exists only on a Raspberry Pi; there run "
    "`sudo apt install python3-picamera2` and create the virtualenv with "
    "`python3 -m venv --system-site-packages`"
)
GSTREAMER_HINT = (
    "this OpenCV has no GStreamer (the pip wheels do not); use the system's OpenCV "
    "(`sudo apt install python3-opencv`, a virtualenv with --system-site-packages)"
)


@dataclass(frozen=True)
class CaptureSettings:
    """What to ask a camera for: ``size`` (w, h; None: its default), ``fps`` (0: its default),
    ``pixel_format`` (a V4L2 FOURCC, or ``auto``: MJPG above 640x480, where raw frames exceed
    USB 2 bandwidth) and ``detect_width`` (picamera2: a second, low-resolution stream of that
    width for the detector; 0: none)."""

    size: tuple[int, int] | None = None
    fps: float = 0.0
    pixel_format: str = "auto"
    detect_width: int = 0

    @property
    def fourcc(self) -> str | None:
        if self.pixel_format != "auto":
            return self.pixel_format
        if self.size and self.size[0] * self.size[1] > 640 * 480:
            return "MJPG"
        return None


def capture_settings(config) -> CaptureSettings:
    """What a run's options (``capture_size``, ``capture_fps``, ``pixel_format``,
    ``detect_width``) ask of a camera."""
    return CaptureSettings(
        parse_size(config.capture_size),
        float(config.capture_fps),
        config.pixel_format,
        int(config.detect_width),
    )


def configure_v4l2(cap, settings: CaptureSettings, name: str) -> tuple[int, int]:
    """Ask an open V4L2 ``cv2.VideoCapture`` for ``settings``; log and return what it gives."""
    import cv2

    if settings.fourcc:  # the format first: the sizes on offer depend on it
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*settings.fourcc))
    if settings.size:
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, settings.size[0])
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, settings.size[1])
    if settings.fps:
        cap.set(cv2.CAP_PROP_FPS, settings.fps)
    size = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    code = int(cap.get(cv2.CAP_PROP_FOURCC))
    fourcc = "".join(chr((code >> 8 * i) & 0xFF) for i in range(4)).strip("\0 ") or "?"
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    asked = f"{settings.size[0]}x{settings.size[1]}" if settings.size else "its default"
    log.info("%s: capture %dx%d %s at %g fps (asked for %s)", name, *size, fourcc, fps, asked)
    if settings.size and size[0] * size[1] < settings.size[0] * settings.size[1]:
        log.warning(
            "%s: gives %dx%d, less than the %s asked for (its largest mode in %s?)",
            name, *size, asked, fourcc,
        )  # fmt: skip
    return size


def _cv2_opener(
    target: int | str,
    backend: int,
    params: list[int] | None = None,
    settings: CaptureSettings | None = None,
    name: str = "",
):
    import cv2

    def opener() -> Device | None:
        cap = cv2.VideoCapture(target, backend, params or [])
        if not cap.isOpened():
            cap.release()
            raise OSError(why_not_open(target))
        if settings is not None:
            configure_v4l2(cap, settings, name or str(target))
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


class Picamera2Device:
    """A Raspberry Pi camera: a full-resolution ``main`` stream for the crops and, with
    ``detect_width``, a ``lores`` stream of that width for the detector (picamera2's own idiom
    for this; the ISP scales it for free). Each frame carries its lores copy
    (:class:`FrameWithCopy`)."""

    def __init__(self, settings: CaptureSettings, camera_class=None) -> None:
        if camera_class is None:
            from picamera2 import Picamera2 as camera_class

        self._cam = camera_class()
        size = settings.size or (1280, 720)
        # "RGB888" gives pixels in B, G, R byte order: what OpenCV calls BGR.
        streams: dict = {"main": {"format": "RGB888", "size": size}}
        if settings.detect_width and settings.detect_width < size[0]:
            width = settings.detect_width & ~1
            streams["lores"] = {
                "format": "YUV420",
                "size": (width, round(size[1] * width / size[0]) & ~1),
            }
        controls = {"FrameRate": float(settings.fps)} if settings.fps else {}
        config = self._cam.create_video_configuration(**streams, controls=controls)
        self._cam.configure(config)
        self._lores = streams.get("lores", {}).get("size")
        delivered = tuple(config["main"]["size"])
        log.info(
            "picamera2: capture %dx%d (asked for %dx%d)%s", *delivered, *size,
            f", detection stream {self._lores[0]}x{self._lores[1]}" if self._lores else "",
        )  # fmt: skip
        self._cam.start()

    def read(self) -> tuple[bool, np.ndarray | None]:
        try:
            if not self._lores:
                return True, self._cam.capture_array("main")
            request = self._cam.capture_request()
            try:
                main, lores = request.make_array("main"), request.make_array("lores")
            finally:
                request.release()
        except Exception as exc:  # noqa: BLE001 - any capture failure means a lost camera
            log.debug("picamera2 capture failed: %s", exc)
            return False, None
        import cv2

        grey = lores[: self._lores[1], : self._lores[0]]  # the Y plane of YUV420
        return True, FrameWithCopy.of(main, cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))

    def release(self) -> None:
        self._cam.close()


def nvargus_pipeline(sensor: int, settings: CaptureSettings) -> str:
    """A GStreamer pipeline for a Jetson CSI camera at ``settings`` (BGR frames to OpenCV)."""
    width, height = settings.size or (1920, 1080)
    fps = int(settings.fps or 30)
    return (
        f"nvarguscamerasrc sensor-id={sensor} ! "
        f"video/x-raw(memory:NVMM),width={width},height={height},framerate={fps}/1 ! "
        "nvvidconv ! video/x-raw,format=BGRx ! videoconvert ! video/x-raw,format=BGR ! "
        "appsink drop=1 max-buffers=1"
    )


def has_gstreamer() -> bool:
    import cv2

    info = cv2.getBuildInformation()
    return any("GStreamer" in line and "YES" in line for line in info.splitlines())


def open_source(
    spec: str,
    frame_timeout: float = 5.0,
    reconnect_max: float = 30.0,
    start: float | None = None,
    give_up: float = 0.0,
    capture: CaptureSettings | None = None,
) -> FrameSource:
    """The source named by ``spec``: an index, ``/dev/...``, a URL, ``picamera2``,
    ``gst:PIPELINE``, ``nvargus[:N]`` or a file; cameras are asked for ``capture``.

    ``give_up``: seconds a live source may go without a first frame (0: retry forever).
    """
    import cv2

    spec = str(spec).strip()
    capture = capture or CaptureSettings()
    live = {"frame_timeout": frame_timeout, "reconnect_max": reconnect_max, "give_up": give_up}
    v4l2 = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
    if spec == "picamera2":
        try:
            import picamera2  # noqa: F401
        except ImportError:
            raise ConfigError(PICAMERA2_HINT) from None
        return LiveSource(lambda: Picamera2Device(capture), "picamera2", **live)
    if spec.isdigit():
        opener = _cv2_opener(int(spec), v4l2, settings=capture, name=f"camera {spec}")
        return LiveSource(opener, f"camera {spec}", **live)
    if spec.startswith("/dev/"):
        return LiveSource(_cv2_opener(spec, v4l2, settings=capture, name=spec), spec, **live)
    if spec.startswith("gst:") or spec == "nvargus" or spec.startswith("nvargus:"):
        if not has_gstreamer():
            raise ConfigError(f"camera {spec!r}: {GSTREAMER_HINT}")
        if spec.startswith("gst:"):
            pipeline = spec[4:].strip()
        else:
            pipeline = nvargus_pipeline(int(spec.partition(":")[2] or 0), capture)
        opener = _cv2_opener(pipeline, cv2.CAP_GSTREAMER)
        return LiveSource(opener, spec if spec.startswith("nvargus") else "gstreamer", **live)
    if "://" in spec:
        ms = int(frame_timeout * 1000)
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
        return LiveSource(_cv2_opener(spec, cv2.CAP_FFMPEG, params), _redact(spec), **live)
    if Path(spec).is_file():
        return FileSource(spec, start=start)
    raise ConfigError(
        f"camera {spec!r}: not a camera index, /dev path, URL, 'picamera2', 'gst:PIPELINE', "
        "'nvargus' or an existing video file"
    )


def _redact(url: str) -> str:
    """A URL without its password, for logs."""
    scheme, _, rest = url.partition("://")
    if "@" in rest.split("/", 1)[0]:
        rest = "***@" + rest.split("@", 1)[1]
    return f"{scheme}://{rest}"
