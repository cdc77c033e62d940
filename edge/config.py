"""Daemon configuration: defaults, a TOML file (``--config``) and command-line overrides.

Every option can live in the TOML file (top-level keys, dashes or underscores); flags given on
the command line win. Unknown keys and bad values raise :class:`ConfigError` naming them.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .detect import DETECTORS
from .errors import ConfigError
from .runtime import RUNTIMES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 (Jetson)
    import tomli as tomllib


@dataclass
class RunConfig:
    """All options of ``fer-edge run`` (and ``bench``/``doctor``)."""

    model: str | None = None
    card: str | None = None
    camera: str = "0"
    detector: str = "auto"
    face_model: str | None = None
    min_face: int = 0
    score: float = 0.6
    threads: int | None = None
    runtime: str | None = None
    max_fps: float = 0.0
    max_frames: int = 0
    window: float = 60.0
    min_group: int = 5
    log_dir: str | None = None
    keep_days: int = 90
    min_free_mb: int = 50
    frame_timeout: float = 5.0
    reconnect_max: float = 30.0
    track_iou: float = 0.3
    track_max_age: float = 1.0
    smoothing: float = 0.3
    reclassify: float = 0.0
    start_time: str | None = None
    camera_wait: float | None = None

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
_TYPES = {
    "model": str,
    "card": str,
    "camera": str,
    "detector": str,
    "face_model": str,
    "min_face": int,
    "score": float,
    "threads": int,
    "runtime": str,
    "max_fps": float,
    "max_frames": int,
    "window": float,
    "min_group": int,
    "log_dir": str,
    "keep_days": int,
    "min_free_mb": int,
    "frame_timeout": float,
    "reconnect_max": float,
    "track_iou": float,
    "track_max_age": float,
    "smoothing": float,
    "reclassify": float,
    "start_time": str,
    "camera_wait": float,
}


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


def validate(config: RunConfig, need_model: bool = True) -> None:
    """Raise ConfigError naming the first bad option."""

    def bad(key: str, why: str) -> ConfigError:
        return ConfigError(f"{key.replace('_', '-')} {getattr(config, key)!r}: {why}")

    if need_model and not config.model:
        raise ConfigError("no model given: pass --model PATH.tflite or set model in the config")
    if config.detector not in DETECTORS:
        raise bad("detector", f"choose one of {', '.join(DETECTORS)}")
    if config.runtime is not None and config.runtime not in RUNTIMES:
        raise bad("runtime", f"choose one of {', '.join(RUNTIMES)}")
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
    ]
    if config.camera_wait is not None:
        checks.append(("camera_wait", config.camera_wait >= 0, "must be >= 0 (0: retry forever)"))
    if config.threads is not None:
        checks.append(("threads", config.threads >= 1, "must be >= 1"))
    for key, ok, why in checks:
        if not ok:
            raise bad(key, why)
    camera = config.camera.strip()
    if not (
        camera == "picamera2"
        or camera.isdigit()
        or camera.startswith("/dev/")
        or "://" in camera
        or Path(camera).is_file()
    ):
        raise bad("camera", "not a camera index, /dev path, URL, 'picamera2' or an existing file")
    if config.start_time is not None:
        from .timeutil import parse_iso

        try:
            parse_iso(config.start_time)
        except ValueError:
            raise bad("start_time", "not an ISO 8601 time") from None
