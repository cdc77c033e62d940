"""Daemon configuration: defaults, a TOML file (``--config``) and command-line overrides.

Every option can live in the TOML file (top-level keys, dashes or underscores); flags given on
the command line win. Unknown keys and bad values raise :class:`ConfigError` naming them.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_args, get_type_hints

from .classify.runtime import RUNTIMES
from .contract.errors import ConfigError
from .faces.detect import detector_names

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 (Jetson)
    import tomli as tomllib


def option(default: Any, help: str, choices: tuple[str, ...] | None = None) -> Any:
    """A RunConfig field: its default, its help text and, for names, the allowed choices.

    The command-line flags are generated from these fields (``fer_edge.cli.run``), so a
    default or a type is stated once. A None default is described in ``help``.
    """
    return field(default=default, metadata={"help": help, "choices": choices})


@dataclass
class RunConfig:
    """All options of ``fer-edge run`` (and ``bench``/``doctor``)."""

    model: str | None = option(
        None, "Converted .tflite model (its card beside it) [the packaged default]."
    )
    card: str | None = option(None, "Model card, if not MODEL.json / model_card.json beside it.")
    camera: str = option("0", "0 (V4L2 index), /dev/video0, a video file, rtsp://..., picamera2.")
    detector: str = option("auto", "Face detector.", detector_names())
    face_model: str | None = option(
        None, "YuNet ONNX model [looked up; see `fer-edge models path`]."
    )
    min_face: int = option(
        0, "Smallest face to find, capture px; under 20 detection px the copy is upscaled (tiled)."
    )
    detect_width: int = option(
        960, "The detector sees frames reduced to this width (faces are read at full size); 0: off."
    )
    capture_size: str = option(
        "1280x720", "Camera capture size WxH (V4L2, picamera2, GStreamer); files/RTSP as they come."
    )
    capture_fps: float = option(0.0, "Camera frame rate to ask for; 0: the camera's default.")
    pixel_format: str = option(
        "auto", "V4L2 pixel format (auto: MJPG above 640x480).", ("auto", "MJPG", "YUYV", "H264")
    )
    score: float = option(0.6, "Face detector score threshold.")
    threads: int | None = option(None, "Interpreter threads [all cores].")
    runtime: str | None = option(None, "TFLite runtime [the first usable].", RUNTIMES)
    max_fps: float = option(0.0, "Process at most this many frames per second; 0: all.")
    max_frames: int = option(0, "Stop after this many frames; 0: never.")
    window: float = option(60.0, "Aggregation window in seconds.")
    min_group: int = option(5, "Suppress windows with fewer distinct faces.")
    log_dir: str | None = option(
        None, "Where the JSON Lines go [$STATE_DIRECTORY or ./fer-edge-logs]."
    )
    keep_days: int = option(90, "Delete logs older than this.")
    min_free_mb: int = option(50, "Delete oldest logs while free space is below this.")
    frame_timeout: float = option(5.0, "Seconds without a frame before the camera is lost.")
    reconnect_max: float = option(30.0, "Longest wait between reopen attempts, seconds.")
    track_iou: float = option(0.3, "IoU to link a face to a track.")
    track_max_age: float = option(1.0, "Seconds a track survives unseen.")
    smoothing: float = option(0.3, "EMA weight of the newest frame in a track's class.")
    reclassify: float = option(
        0.0, "Seconds before a tracked face is classified again; 0: every frame."
    )
    start_time: str | None = option(
        None, "File sources: ISO time of the video's first frame [file mtime]."
    )
    prior_correction: bool = option(
        True, "Re-weight a balanced-prior model's probabilities by its training class prior."
    )
    site: str = option("school", "Site name: a level of the MQTT topics.")
    room: str | None = option(None, "Room name: a level of the MQTT topics [the host name].")
    mqtt_host: str | None = option(None, "MQTT broker to publish window records to [off].")
    mqtt_port: int | None = option(None, "MQTT broker port [1883; 8883 with mqtt-ca-file].")
    mqtt_prefix: str = option("fer-edge", "First level of the MQTT topics.")
    mqtt_username: str | None = option(None, "MQTT user name.")
    mqtt_password_file: str | None = option(
        None, "File with the MQTT password (mode 600), or a systemd credential's name."
    )
    mqtt_ca_file: str | None = option(None, "CA certificate: TLS to the broker [no TLS].")
    mqtt_cert_file: str | None = option(None, "Client certificate for TLS (optional).")
    mqtt_key_file: str | None = option(None, "Client certificate's key (optional).")
    mqtt_backlog: int = option(
        10000, "Most records waiting for the broker; older ones stay in the local log only."
    )
    metrics_port: int = option(0, "Prometheus metrics on 127.0.0.1:PORT; 0: off.")
    camera_wait: float | None = option(
        None,
        "Give up (exit 69) without a first frame after this many seconds; 0: retry forever "
        "[30 at a terminal, else 0].",
    )
    detect_every: int = option(1, "Run the face detector every N frames, track in between.")
    readable_face: float = option(24.0, "Faces narrower (px) are counted unreadable; 0: off.")
    max_yaw: float = option(25.0, "Faces turned more (degrees, from landmarks) are unreadable.")
    max_pitch: float = option(25.0, "Faces looking down more (degrees) are unreadable.")
    min_sharpness: float = option(0.5, "Blurrier faces (detail measure) are unreadable; 0: off.")

    @property
    def resolved_room(self) -> str:
        return self.room or socket.gethostname().split(".")[0]

    @property
    def quality_gate(self):
        """The face-quality gate these thresholds make (see :mod:`.faces.quality`)."""
        from .faces.quality import QualityGate

        return QualityGate(self.readable_face, self.max_yaw, self.max_pitch, self.min_sharpness)

    @property
    def resolved_log_dir(self) -> Path:
        return Path(self.log_dir or os.environ.get("STATE_DIRECTORY") or "./fer-edge-logs")

    @property
    def resolved_camera_wait(self) -> float:
        """Seconds to wait for a first frame before giving up (exit 69); 0: retry forever.

        Default: 30 s at a terminal (a person wants a quick, clear failure), forever under
        systemd or without a terminal (a service outlives a camera that is plugged in later).
        """
        if self.camera_wait is not None:
            return self.camera_wait
        return 30.0 if _interactive() else 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_FIELDS = {f.name: f for f in fields(RunConfig)}


def option_type(name: str) -> type:
    """The value type of option ``name`` (``int`` for ``int | None``), from its annotation."""
    hint = get_type_hints(RunConfig)[name]
    args = [a for a in get_args(hint) if a is not type(None)]
    return args[0] if args else hint


_TYPES = {name: option_type(name) for name in _FIELDS}


def _interactive() -> bool:
    """A person at a terminal, not a service: stdin is a TTY and systemd did not start us."""
    if os.environ.get("INVOCATION_ID") or os.environ.get("NOTIFY_SOCKET"):
        return False
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (OSError, ValueError):  # a closed stdin
        return False


def _coerce(key: str, value: Any, where: str) -> Any:
    kind = _TYPES[key]
    if value is None:
        return None
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {key} must be true or false, got {value!r}")
        return value
    if kind is str and key == "camera" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ConfigError(
            f"{where}: {key} must be {kind.__name__}, got {type(value).__name__} {value!r}"
        )
    return value


def load_toml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a TOML config file into option names (dashes → underscores), rejecting unknown keys."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None
    options = {}
    for raw_key, value in data.items():
        key = raw_key.replace("-", "_")
        if key not in _FIELDS:
            raise ConfigError(
                f"{path}: unknown key {raw_key!r}; known keys: {', '.join(sorted(_FIELDS))}"
            )
        options[key] = _coerce(key, value, str(path))
    return options


def build_config(
    config_file: str | os.PathLike | None = None, overrides: dict[str, Any] | None = None
) -> RunConfig:
    """Defaults, then the TOML file, then ``overrides`` (None values are ignored); validated."""
    options: dict[str, Any] = {}
    if config_file:
        options.update(load_toml(config_file))
    for key, value in (overrides or {}).items():
        if key not in _FIELDS:
            raise ConfigError(f"unknown option {key!r}")
        if value is not None:
            options[key] = _coerce(key, value, "command line")
    config = RunConfig(**options)
    validate(config)
    return config


def validate(config: RunConfig) -> None:
    """Raise ConfigError naming the first bad option."""

    def bad(key: str, why: str) -> ConfigError:
        return ConfigError(f"{key.replace('_', '-')} {getattr(config, key)!r}: {why}")

    for f in fields(config):
        choices, value = f.metadata["choices"], getattr(config, f.name)
        if choices and value is not None and value not in choices:
            raise bad(f.name, f"choose one of {', '.join(choices)}")
    if not 0.0 < config.score <= 1.0:
        raise bad("score", "must lie in (0, 1]")
    checks = [
        ("min_face", config.min_face >= 0, "must be >= 0"),
        ("max_fps", config.max_fps >= 0, "must be >= 0 (0: no cap)"),
        ("max_frames", config.max_frames >= 0, "must be >= 0 (0: no limit)"),
        ("window", config.window >= 1.0, "must be at least 1 second"),
        ("min_group", config.min_group >= 1, "must be >= 1"),
        ("keep_days", config.keep_days >= 1, "must be >= 1"),
        ("min_free_mb", config.min_free_mb >= 0, "must be >= 0"),
        ("frame_timeout", config.frame_timeout > 0, "must be > 0"),
        ("reconnect_max", config.reconnect_max > 0, "must be > 0"),
        ("track_iou", 0.0 < config.track_iou < 1.0, "must lie in (0, 1)"),
        ("track_max_age", config.track_max_age > 0, "must be > 0"),
        ("smoothing", 0.0 < config.smoothing <= 1.0, "must lie in (0, 1]"),
        ("reclassify", config.reclassify >= 0, "must be >= 0 (0: every frame)"),
        ("mqtt_backlog", config.mqtt_backlog >= 1, "must be >= 1"),
        ("metrics_port", 0 <= config.metrics_port <= 65535, "must be a port, or 0 (off)"),
        ("detect_every", config.detect_every >= 1, "must be >= 1 (1: every frame)"),
        (
            "detect_width",
            config.detect_width == 0 or 160 <= config.detect_width <= 7680,
            "must lie in [160, 7680] px, or 0 (the full frame)",
        ),
        ("capture_fps", 0 <= config.capture_fps <= 240, "must lie in [0, 240] (0: default)"),
        ("readable_face", config.readable_face >= 0, "must be >= 0 (0: no size test)"),
        ("max_yaw", 0 <= config.max_yaw <= 90, "must lie in [0, 90] degrees (0: no test)"),
        ("max_pitch", 0 <= config.max_pitch <= 90, "must lie in [0, 90] degrees (0: no test)"),
        ("min_sharpness", config.min_sharpness >= 0, "must be >= 0 (0: no blur test)"),
    ]
    if config.mqtt_port is not None:
        checks.append(("mqtt_port", 1 <= config.mqtt_port <= 65535, "must be a port"))
    if config.camera_wait is not None:
        checks.append(("camera_wait", config.camera_wait >= 0, "must be >= 0 (0: retry forever)"))
    if config.threads is not None:
        checks.append(("threads", config.threads >= 1, "must be >= 1"))
    for key, ok, why in checks:
        if not ok:
            raise bad(key, why)
    if config.max_fps and config.detect_every / config.max_fps > config.track_max_age:
        raise bad(
            "detect_every",
            f"at max-fps {config.max_fps:g} detections are {config.detect_every / config.max_fps:g}"
            f" s apart, longer than track-max-age {config.track_max_age:g} s: every track would"
            " be lost between detections",
        )
    from .capture.devices import parse_size

    try:
        parse_size(config.capture_size)
    except ValueError as exc:
        raise bad("capture_size", str(exc)) from None
    camera = config.camera.strip()
    if Path(camera).is_dir():
        raise bad("camera", "a directory, not a video file")
    if not (
        camera in ("picamera2", "nvargus")
        or camera.isdigit()
        or camera.startswith(("/dev/", "gst:", "nvargus:"))
        or "://" in camera
        or Path(camera).is_file()
    ):
        raise bad(
            "camera",
            "not a camera index, /dev path, URL, 'picamera2', 'gst:PIPELINE', 'nvargus' or an "
            "existing file",
        )
    if config.start_time is not None:
        from .record.timeutil import parse_iso

        try:
            parse_iso(config.start_time)
        except ValueError:
            raise bad("start_time", "not an ISO 8601 time") from None

    from .fleet.mqtt import MqttSettings

    MqttSettings.from_config(config)  # names, files and the password file's permissions
    if config.mqtt_host or config.metrics_port:
        _need_fleet_packages(config)


def _need_fleet_packages(config: RunConfig) -> None:
    import importlib.util

    for key, module, package in (
        ("mqtt_host", "paho.mqtt", "paho-mqtt"),
        ("metrics_port", "prometheus_client", "prometheus-client"),
    ):
        if getattr(config, key) and importlib.util.find_spec(module.split(".")[0]) is None:
            raise ConfigError(
                f"{key.replace('_', '-')} is set but {package} is not installed: "
                "pip install 'fer-edge[fleet]'"
            )
