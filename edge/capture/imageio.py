"""Reading images with one-line errors that name the file."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from ..contract.errors import ImageReadError


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as a BGR uint8 array (grey and palette images become 3 channels)."""
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    if data.size == 0:
        raise ImageReadError(f"{path}: empty file")
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        image = _read_with_pillow(path)
    if image is None or image.size == 0:
        raise ImageReadError(f"{path}: not a readable image (corrupt or unsupported format)")
    return image


def _read_with_pillow(path: Path) -> np.ndarray | None:
    """Fallback for formats OpenCV's codecs reject (some palette TIFFs)."""
    try:
        from PIL import Image
    except ImportError:
        return None
    try:
        with Image.open(path) as img:
            rgb = np.asarray(img.convert("RGB"))
    except Exception:  # noqa: BLE001 - any decoder failure means "not readable"
        return None
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
