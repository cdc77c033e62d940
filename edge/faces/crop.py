"""The crop step: a detected face cut out of a frame by the model's crop recipe.

Images inside fer-edge are OpenCV arrays: BGR ``uint8`` (H, W, 3), or grey (H, W).
A crop is always RGB ``uint8`` (size, size, 3): what every model takes as input.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import cv2
import numpy as np

from ..contract.recipe import CropRecipe

if TYPE_CHECKING:
    from .detect import Face


def to_rgb(image: np.ndarray) -> np.ndarray:
    """BGR, BGRA or grey OpenCV image → RGB uint8 with three channels."""
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return cv2.cvtColor(image.reshape(image.shape[:2]), cv2.COLOR_GRAY2RGB)
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    raise ValueError(f"unsupported image shape {image.shape}")


def crop_square(
    image: np.ndarray,
    box: tuple[float, float, float, float],
    recipe: CropRecipe,
    eyes: tuple[tuple[float, float], tuple[float, float]] | None = None,
) -> np.ndarray:
    """Cut the face in ``box`` (x, y, w, h) out of ``image`` by ``recipe``.

    The square (box side plus margin) is centred on the box, shrunk to fit the image and
    shifted to lie inside it (clamping at the borders). With ``eyes`` ((right_x, right_y),
    (left_x, left_y)) in image coordinates and ``recipe.align``, the crop is rotated about its
    centre so the eyes are level.
    """
    height, width = image.shape[:2]
    x, y, w, h = (float(v) for v in box)
    if w <= 0 or h <= 0:
        raise ValueError(f"empty face box {box}")
    side = min(max(w, h) * (1.0 + 2.0 * recipe.margin), width, height)
    cx = min(max(x + w / 2.0, side / 2.0), width - side / 2.0)
    cy = min(max(y + h / 2.0, side / 2.0), height - side / 2.0)
    angle = _eye_angle(eyes) if recipe.align and eyes is not None else 0.0
    if abs(angle) < 0.5:
        x0, y0 = int(round(cx - side / 2.0)), int(round(cy - side / 2.0))
        n = max(1, int(round(side)))
        x0, y0 = min(max(x0, 0), width - n), min(max(y0, 0), height - n)
        patch = to_rgb(image[y0 : y0 + n, x0 : x0 + n])
        interp = cv2.INTER_AREA if n > recipe.size else cv2.INTER_LINEAR
        return cv2.resize(patch, (recipe.size, recipe.size), interpolation=interp)
    # Only the region the turned square can reach is converted (not the whole frame: at
    # 1920x1080 that would cost more than the crop).
    reach = side / math.sqrt(2.0) + 2.0
    rx0, ry0 = max(0, int(cx - reach)), max(0, int(cy - reach))
    rx1, ry1 = (
        min(width, int(math.ceil(cx + reach)) + 1),
        min(height, int(math.ceil(cy + reach)) + 1),
    )
    rgb = to_rgb(image[ry0:ry1, rx0:rx1])
    cx, cy = cx - rx0, cy - ry0
    scale = recipe.size / side
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, scale)
    matrix[0, 2] += recipe.size / 2.0 - cx
    matrix[1, 2] += recipe.size / 2.0 - cy
    return cv2.warpAffine(
        rgb,
        matrix,
        (recipe.size, recipe.size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def _eye_angle(eyes: tuple[tuple[float, float], tuple[float, float]]) -> float:
    """Degrees to rotate (counter-clockwise, OpenCV convention) so the eyes are level."""
    (rx, ry), (lx, ly) = eyes
    # YuNet's "right eye" is the subject's right eye: the one on the image's left side.
    return math.degrees(math.atan2(ly - ry, lx - rx))


def crop_faces(image: np.ndarray, faces: list[Face], recipe: CropRecipe) -> np.ndarray:
    """Crops of all ``faces`` as one RGB uint8 batch (N, size, size, 3)."""
    if not faces:
        return np.empty((0, recipe.size, recipe.size, 3), np.uint8)
    return np.stack([crop_square(image, f.box, recipe, f.eyes) for f in faces])
