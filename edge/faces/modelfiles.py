"""Where detector model files live, and how the YuNet model is fetched.

No wheel ships a YuNet model, and none is vendored here. The model is looked up in this order:
an explicit path, ``$FER_EDGE_FACE_MODEL``, then ``face_detection_yunet_2023mar.onnx`` in the
models directories: ``$FER_EDGE_MODELS_DIR``, ``$XDG_DATA_HOME/fer-edge/models`` (default
``~/.local/share/fer-edge/models``), ``/var/lib/fer-edge/models``,
``/usr/local/share/fer-edge/models``, ``/usr/share/fer-edge/models``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.request
from pathlib import Path

from ..contract import atomic
from ..contract.errors import ModelFileError

log = logging.getLogger(__name__)

YUNET_FILENAME = "face_detection_yunet_2023mar.onnx"
YUNET_URL = (
    "https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/" + YUNET_FILENAME
)
#: Size in bytes of OpenCV Zoo's file (MIT licence); a download of another size is rejected.
YUNET_BYTES = 232_589
HAAR_FILENAME = "haarcascade_frontalface_default.xml"
_HAAR_DIRS = (
    "/usr/share/opencv4/haarcascades",
    "/usr/share/opencv/haarcascades",
    "/usr/local/share/opencv4/haarcascades",
)


def models_dirs() -> list[Path]:
    """The models directories, most specific first."""
    dirs = []
    if os.environ.get("FER_EDGE_MODELS_DIR"):
        dirs.append(Path(os.environ["FER_EDGE_MODELS_DIR"]))
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    dirs.append(Path(data_home) / "fer-edge" / "models")
    dirs += [
        Path(p)
        for p in (
            "/var/lib/fer-edge/models",
            "/usr/local/share/fer-edge/models",
            "/usr/share/fer-edge/models",
        )
    ]
    return dirs


def user_models_dir() -> Path:
    """Where ``fer-edge models fetch`` writes by default."""
    return models_dirs()[0]


def find_yunet(explicit: str | os.PathLike | None = None) -> Path | None:
    """The YuNet model to use, or None when there is none (an explicit path must exist)."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ModelFileError(f"{path}: YuNet face model not found")
        return path
    env = os.environ.get("FER_EDGE_FACE_MODEL")
    if env:
        path = Path(env)
        if not path.is_file():
            raise ModelFileError(f"{path}: YuNet face model not found (from $FER_EDGE_FACE_MODEL)")
        return path
    for folder in models_dirs():
        candidate = folder / YUNET_FILENAME
        try:
            if candidate.is_file():
                return candidate
        except OSError as exc:  # e.g. a service user's HOME it may not read: look on
            log.debug("%s: skipped (%s)", folder, exc.strerror or exc)
    return None


def find_haar(explicit: str | os.PathLike | None = None) -> Path:
    """The frontal-face Haar cascade: explicit path, OpenCV's bundled copy, or Debian's."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ModelFileError(f"{path}: Haar cascade not found")
        return path
    import cv2

    bundled = getattr(getattr(cv2, "data", None), "haarcascades", None)
    folders = ([bundled] if bundled else []) + list(_HAAR_DIRS)
    for folder in folders:
        candidate = Path(folder) / HAAR_FILENAME
        if candidate.is_file():
            return candidate
    raise ModelFileError(
        f"no {HAAR_FILENAME} found (OpenCV 5 wheels ship none); install Debian's opencv-data "
        "or pass a cascade path, or better, use YuNet (`fer-edge models fetch`)"
    )


def fetch_yunet(
    dest_dir: str | os.PathLike | None = None,
    url: str = YUNET_URL,
    sha256: str | None = None,
    expected_bytes: int | None = YUNET_BYTES,
    timeout: float = 60.0,
) -> Path:
    """Download the YuNet model into ``dest_dir`` atomically and check its integrity.

    Integrity: the exact size (when ``expected_bytes``), the sha256 (when given) and that
    OpenCV can build a detector from it. Nothing is left behind on any failure.
    """
    dest = Path(dest_dir) if dest_dir else user_models_dir()
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / YUNET_FILENAME
    log.info("downloading %s", url)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - fixed URL
            data = response.read()
    except OSError as exc:
        raise ModelFileError(f"{url}: download failed ({exc}); {manual_hint(dest)}") from None
    if expected_bytes is not None and len(data) != expected_bytes:
        raise ModelFileError(
            f"{url}: got {len(data)} bytes, expected {expected_bytes}; not the YuNet model"
        )
    if sha256 and hashlib.sha256(data).hexdigest() != sha256.lower():
        raise ModelFileError(f"{url}: sha256 mismatch; refusing the download")
    with atomic.atomic_path(target) as tmp:
        tmp.write_bytes(data)
        check_yunet(tmp)
    return target


def check_yunet(path: str | os.PathLike) -> None:
    """Raise ModelFileError unless OpenCV can build a YuNet detector from ``path``."""
    import cv2

    try:
        cv2.FaceDetectorYN.create(str(path), "", (320, 320))
    except cv2.error as exc:
        msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unknown error"
        raise ModelFileError(f"{path}: not a usable YuNet ONNX model ({msg})") from None


def manual_hint(dest: Path | None = None) -> str:
    """How to install the model by hand on a device without internet."""
    dest = dest or user_models_dir()
    return (
        f"on a machine with internet download {YUNET_URL} and copy it to {dest / YUNET_FILENAME} "
        "(or pass --face-model PATH, or set FER_EDGE_FACE_MODEL)"
    )
