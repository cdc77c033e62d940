"""Opening cameras at full resolution: the size, rate and pixel format asked for and delivered."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

from fer_edge.capture.devices import (
    CaptureSettings,
    Picamera2Device,
    capture_settings,
    nvargus_pipeline,
    open_source,
    parse_size,
)
from fer_edge.capture.events import FRAME
from fer_edge.config import build_config
from fer_edge.contract.errors import ConfigError


class FakeV4L2:
    """A cv2.VideoCapture of a USB camera with ``modes`` {fourcc: [(w, h), ...]}."""

    opened: list[FakeV4L2] = []

    def __init__(self, target, backend=None, params=None, modes=None):
        self.modes = modes or {"YUYV": [(640, 480)], "MJPG": [(640, 480), (1920, 1080)]}
        self.fourcc, self.size, self.fps, self.calls = "YUYV", (640, 480), 30.0, []
        self.want = [640, 480]
        FakeV4L2.opened.append(self)

    def isOpened(self):  # noqa: N802 - OpenCV's name
        return True

    def set(self, prop, value):
        self.calls.append(prop)
        if prop == cv2.CAP_PROP_FOURCC:
            code = int(value)
            self.fourcc = "".join(chr((code >> 8 * i) & 0xFF) for i in range(4))
        elif prop in (cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT):
            self.want[prop == cv2.CAP_PROP_FRAME_HEIGHT] = int(value)
            # the driver picks the largest mode of this format not above the request
            w, h = self.want
            fits = [m for m in self.modes[self.fourcc] if m[0] <= w and m[1] <= h]
            self.size = max(fits or self.modes[self.fourcc][:1])
        elif prop == cv2.CAP_PROP_FPS:
            self.fps = float(value)
        return True

    def get(self, prop):
        return {
            cv2.CAP_PROP_FRAME_WIDTH: self.size[0],
            cv2.CAP_PROP_FRAME_HEIGHT: self.size[1],
            cv2.CAP_PROP_FPS: self.fps,
            cv2.CAP_PROP_FOURCC: cv2.VideoWriter_fourcc(*self.fourcc),
        }.get(prop, 0.0)

    def read(self):
        return True, np.zeros((self.size[1], self.size[0], 3), np.uint8)

    def release(self):
        pass


def _first_frame(source):
    for event in source:
        if event.kind == FRAME:
            source.close()
            return event.frame
    raise AssertionError("no frame")


def test_a_v4l2_camera_is_asked_for_full_resolution_mjpg_and_says_what_it_gives(
    monkeypatch, caplog
):
    FakeV4L2.opened.clear()
    monkeypatch.setattr(cv2, "VideoCapture", FakeV4L2)
    caplog.set_level(logging.INFO, logger="fer_edge.capture")
    source = open_source("0", capture=CaptureSettings((1920, 1080), 30.0))
    frame = _first_frame(source)
    cam = FakeV4L2.opened[-1]
    assert frame.shape == (1080, 1920, 3) and source.frame_size == (1920, 1080)
    assert cam.fourcc == "MJPG" and cam.calls[0] == cv2.CAP_PROP_FOURCC  # format before size
    assert "camera 0: capture 1920x1080 MJPG at 30 fps (asked for 1920x1080)" in caplog.text
    assert "camera 0: delivering 1920x1080 frames" in caplog.text


def test_a_camera_without_the_size_asked_for_is_used_at_its_best_with_a_warning(
    monkeypatch, caplog
):
    FakeV4L2.opened.clear()

    def small(*args):
        return FakeV4L2(*args, modes={"YUYV": [(640, 480)], "MJPG": [(640, 480), (1280, 720)]})

    monkeypatch.setattr(cv2, "VideoCapture", small)
    source = open_source("/dev/video3", capture=CaptureSettings((1920, 1080)))
    assert _first_frame(source).shape == (720, 1280, 3)
    assert "/dev/video3: gives 1280x720, less than the 1920x1080 asked for" in caplog.text
    # small sizes keep the camera's own (raw) format
    assert CaptureSettings((640, 480)).fourcc is None
    assert CaptureSettings((640, 480), pixel_format="MJPG").fourcc == "MJPG"


class FakePicamera2:
    """picamera2's Picamera2 as far as the device uses it: a sensor of ``sensor`` px."""

    last: FakePicamera2 | None = None

    def __init__(self):
        self.config = None
        FakePicamera2.last = self

    def create_video_configuration(self, main, lores=None, controls=None):
        return {"main": dict(main), "lores": lores, "controls": controls or {}}

    def configure(self, config):
        self.config = config

    def start(self):
        pass

    def capture_request(self):
        return self

    def make_array(self, stream):
        w, h = self.config[stream]["size"]
        if stream == "lores":  # YUV420: the Y plane, then U and V below it
            return np.full((h * 3 // 2, w), 7, np.uint8)
        return np.full((h, w, 3), 200, np.uint8)

    def release(self):
        pass

    def close(self):
        pass


def test_picamera2_gives_a_full_resolution_main_stream_and_a_small_detection_stream(caplog):
    caplog.set_level(logging.INFO, logger="fer_edge.capture")
    settings = CaptureSettings((2304, 1296), 30.0, detect_width=640)
    device = Picamera2Device(settings, camera_class=FakePicamera2)
    config = FakePicamera2.last.config
    assert config["main"] == {"format": "RGB888", "size": (2304, 1296)}
    assert config["lores"]["size"] == (640, 360) and config["controls"] == {"FrameRate": 30.0}
    ok, frame = device.read()
    assert ok and frame.shape == (1296, 2304, 3)
    assert frame.detect_copy.shape == (360, 640, 3) and int(frame.detect_copy[0, 0, 0]) == 7
    assert "picamera2: capture 2304x1296 (asked for 2304x1296), detection stream 640x360" in (
        caplog.text
    )
    # the detector takes that copy instead of reducing the frame itself
    from fer_edge.faces.scale import DownscaledDetector

    seen = []

    class Inner:
        name = "inner"

        def detect(self, image):
            seen.append(image.shape)
            return []

    DownscaledDetector(lambda m: Inner(), 640).detect(frame)
    assert seen == [(360, 640, 3)] and int(frame.detect_copy[0, 0, 0]) == 7


def test_capture_options_are_typed_and_checked():
    config = build_config(None, {"camera": "0", "capture_size": "1920x1080", "capture_fps": 25.0})
    settings = capture_settings(config)
    assert settings == CaptureSettings((1920, 1080), 25.0, "auto", config.detect_width)
    assert build_config(None, {"camera": "0"}).capture_size == "1280x720"  # at least 720p
    for bad, why in (("1920", "not a size"), ("1920x0", "each side"), ("axb", "not a size")):
        with pytest.raises(ConfigError, match=f"capture-size '{bad}': {why}"):
            build_config(None, {"camera": "0", "capture_size": bad})
    with pytest.raises(ConfigError, match="capture-fps 500.0"):
        build_config(None, {"camera": "0", "capture_fps": 500.0})
    with pytest.raises(ConfigError, match="detect-width 50"):
        build_config(None, {"camera": "0", "detect_width": 50})
    with pytest.raises(ConfigError, match="pixel-format 'RGB3'"):
        build_config(None, {"camera": "0", "pixel_format": "RGB3"})
    assert parse_size("2304X1296") == (2304, 1296)


def test_a_jetson_csi_camera_is_a_gstreamer_pipeline_at_the_size_asked_for():
    text = nvargus_pipeline(1, CaptureSettings((1920, 1080), 30.0))
    assert "nvarguscamerasrc sensor-id=1" in text
    assert "width=1920,height=1080,framerate=30/1" in text and text.endswith("max-buffers=1")
    from fer_edge.capture import devices

    if not devices.has_gstreamer():
        with pytest.raises(ConfigError, match="no GStreamer"):
            open_source("nvargus")


def test_picamera2_off_a_pi_says_what_to_install():
    with pytest.raises(ConfigError, match="apt install python3-picamera2.*system-site-packages"):
        open_source("picamera2")
