"""Generated classroom-like scenes with known face boxes, for detector tests and benchmarks.

Real public-domain pictures only: the faces are scikit-image's astronaut (Eileen Collins, NASA),
the backgrounds other scikit-image pictures with no people in them. Each face is the astronaut's
head scaled to a given face width, optionally flipped, rotated, darkened, blurred, noised and
partly covered by a bar, and blended into the background with a soft elliptical mask.
Everything is seeded: the same arguments give the same frame on any machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

#: YuNet's box of the astronaut's face in skimage.data.astronaut() (x, y, w, h) and its centre.
ASTRONAUT_FACE = (178.0, 63.0, 90.0, 113.0)
_CX, _CY = ASTRONAUT_FACE[0] + ASTRONAUT_FACE[2] / 2, ASTRONAUT_FACE[1] + ASTRONAUT_FACE[3] / 2
#: Pictures without people, used as backgrounds (grey ones are made BGR).
BACKGROUNDS = (
    "coffee",
    "rocket",
    "brick",
    "gravel",
    "grass",
    "stereo_motorcycle",
    "immunohistochemistry",
    "clock",
    "coins",
    "page",
)


@dataclass(frozen=True)
class Placed:
    """One pasted face: its box (x, y, w, h) in the frame and how it was altered."""

    box: tuple[float, float, float, float]
    angle: float = 0.0
    occluded: bool = False


@lru_cache(maxsize=1)
def astronaut() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])


@lru_cache(maxsize=16)
def background(name: str, shape: tuple[int, int] = (360, 640)) -> np.ndarray:
    """A scikit-image picture as a BGR frame of ``shape`` (centre-cropped to its aspect)."""
    from skimage import data

    image = getattr(data, name)()
    if isinstance(image, tuple):
        image = image[0]
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = (image * 255).astype(np.uint8) if image.max() <= 1 else image.astype(np.uint8)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    else:
        image = np.ascontiguousarray(image[:, :, 2::-1])
    h, w = image.shape[:2]
    want = shape[1] / shape[0]
    if w / h > want:
        cw = int(h * want)
        image = image[:, (w - cw) // 2 : (w - cw) // 2 + cw]
    else:
        ch = int(w / want)
        image = image[(h - ch) // 2 : (h - ch) // 2 + ch]
    return cv2.resize(image, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


def face_patch(
    side: float,
    angle: float = 0.0,
    flip: bool = False,
    gain: float = 1.0,
    blur: float = 0.0,
    noise: float = 0.0,
    occlude: float = 0.0,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The astronaut's head with a face ``side`` px wide: (BGR patch, alpha in [0, 1]).

    The patch is square, 2.2 face widths on a side, the face at its centre. ``occlude`` covers
    that fraction of the face's height with a dark bar from below (a hand, a book).
    """
    scale = side / ASTRONAUT_FACE[2]
    n = int(round(side * 2.2)) | 1
    matrix = cv2.getRotationMatrix2D((_CX, _CY), angle, scale)
    matrix[0, 2] += n / 2 - _CX
    matrix[1, 2] += n / 2 - _CY
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    patch = cv2.warpAffine(astronaut(), matrix, (n, n), flags=interp, borderMode=cv2.BORDER_REFLECT)
    if flip:
        patch = patch[:, ::-1]
    patch = patch.astype(np.float32) * gain
    if blur > 0:
        patch = cv2.GaussianBlur(patch, (0, 0), blur)
    if noise > 0:
        patch += (rng or np.random.default_rng(0)).normal(0, noise, patch.shape)
    if occlude > 0:
        top = int(n / 2 + side * 0.63 * (1 - 2 * occlude))
        patch[top:, int(n / 2 - side * 0.7) : int(n / 2 + side * 0.7)] = 30.0
    alpha = np.zeros((n, n), np.float32)
    axes = (int(side * 0.8), int(side * 1.0))
    cv2.ellipse(alpha, (n // 2, n // 2 + int(side * 0.1)), axes, angle=-angle, startAngle=0,
                endAngle=360, color=1.0, thickness=-1)  # fmt: skip
    alpha = cv2.GaussianBlur(alpha, (0, 0), max(1.0, side * 0.12))
    return np.clip(patch, 0, 255).astype(np.uint8), alpha


def paste(frame: np.ndarray, patch: np.ndarray, alpha: np.ndarray, cx: float, cy: float) -> None:
    """Blend ``patch`` into ``frame`` (in place) centred at (cx, cy), clipped at the borders."""
    n = patch.shape[0]
    x0, y0 = int(round(cx - n / 2)), int(round(cy - n / 2))
    fx0, fy0 = max(x0, 0), max(y0, 0)
    fx1, fy1 = min(x0 + n, frame.shape[1]), min(y0 + n, frame.shape[0])
    if fx1 <= fx0 or fy1 <= fy0:
        return
    p = patch[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0].astype(np.float32)
    a = alpha[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0, None]
    region = frame[fy0:fy1, fx0:fx1].astype(np.float32)
    frame[fy0:fy1, fx0:fx1] = (a * p + (1 - a) * region).astype(np.uint8)


def face_box(cx: float, cy: float, side: float) -> tuple[float, float, float, float]:
    """The detector-style box of a pasted face of width ``side`` centred at (cx, cy)."""
    h = side * ASTRONAUT_FACE[3] / ASTRONAUT_FACE[2]
    return (cx - side / 2, cy - h / 2, side, h)


def scene(
    seed: int,
    sizes: tuple[float, float] = (12.0, 48.0),
    count: tuple[int, int] = (15, 40),
    shape: tuple[int, int] = (360, 640),
    hard: bool = True,
) -> tuple[np.ndarray, list[Placed]]:
    """A frame with 15-40 faces of random width in ``sizes`` on a real background.

    With ``hard`` faces are rotated up to ±30°, flipped, darkened (gain 0.35-1.1), blurred,
    noised, and one in five is partly covered. Faces do not overlap.
    """
    rng = np.random.default_rng(seed)
    frame = background(BACKGROUNDS[seed % len(BACKGROUNDS)], shape).copy()
    frame = np.clip(frame.astype(np.float32) * rng.uniform(0.5, 1.0), 0, 255).astype(np.uint8)
    want = int(rng.integers(count[0], count[1] + 1))
    placed: list[Placed] = []
    occupied: list[tuple[float, float, float]] = []
    for _ in range(want * 30):
        if len(placed) == want:
            break
        # Sizes are drawn log-uniformly so every size band gets faces.
        side = float(np.exp(rng.uniform(np.log(sizes[0]), np.log(sizes[1]))))
        cx = rng.uniform(side * 0.7, shape[1] - side * 0.7)
        cy = rng.uniform(side * 0.8, shape[0] - side * 0.8)
        if any(abs(cx - x) < (side + s) * 0.85 and abs(cy - y) < (side + s) * 1.1
               for x, y, s in occupied):  # fmt: skip
            continue
        occupied.append((cx, cy, side))
        if hard:
            angle = float(rng.uniform(-30, 30))
            kwargs = dict(
                angle=angle,
                flip=bool(rng.random() < 0.5),
                gain=float(rng.uniform(0.35, 1.1)),
                blur=float(rng.uniform(0, 0.8)),
                noise=float(rng.uniform(0, 8)),
                occlude=float(rng.uniform(0.2, 0.35)) if rng.random() < 0.2 else 0.0,
            )
        else:
            angle, kwargs = 0.0, {}
        patch, alpha = face_patch(side, rng=rng, **kwargs)
        paste(frame, patch, alpha, cx, cy)
        placed.append(Placed(face_box(cx, cy, side), angle, bool(kwargs.get("occlude"))))
    return frame, placed
