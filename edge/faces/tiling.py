"""Small faces: run the face detector on an upscaled frame, cut into overlapping tiles.

YuNet finds faces reliably from about ``RELIABLE_PX`` pixels in its input (recall by face size:
``bench/bench_detect.py``, docs/RESULTS.md). To find faces down to ``min_face`` pixels the
frame is upscaled by ``RELIABLE_PX / min_face`` (at most ``MAX_SCALE``). An upscaled frame larger
than ``tile`` pixels a side is cut into equal overlapping tiles (one network input size); faces
seen twice in an overlap are merged by non-maximum suppression, and a box cut by an inner tile
edge is dropped, because the overlap holds that face whole in the neighbouring tile. When the
frame is tiled, one extra pass over the whole frame at 1x finds faces too big for the overlap.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from .detect import Face, FaceDetector

#: Face width (px, detector input) from which YuNet's recall is high.
RELIABLE_PX = 20.0
#: Upscaling costs the square of the scale in detection time; beyond 2x little is gained.
MAX_SCALE = 2.0

Tile = tuple[int, int, int, int]  # x0, y0, x1, y1 in frame pixels


def detection_scale(min_face: float) -> float:
    """How much to upscale a frame so faces of ``min_face`` px reach ``RELIABLE_PX``."""
    if min_face <= 0:
        return 1.0
    return float(min(MAX_SCALE, max(1.0, RELIABLE_PX / min_face)))


def plan_tiles(width: int, height: int, scale: float, tile: int, overlap: int) -> list[Tile]:
    """Equal overlapping tiles (frame pixels) covering the frame; one tile when it fits.

    Each tile is at most ``tile`` px a side once upscaled, and neighbours share at least
    ``overlap`` frame pixels.
    """
    side = max(1, int(tile / scale))
    tiles_x = _axis(width, side, overlap)
    tiles_y = _axis(height, side, overlap)
    return [(x0, y0, x1, y1) for y0, y1 in tiles_y for x0, x1 in tiles_x]


def _axis(length: int, side: int, overlap: int) -> list[tuple[int, int]]:
    if length <= side:
        return [(0, length)]
    if overlap >= side:
        raise ValueError(f"tile overlap {overlap} must be smaller than the tile ({side} px)")
    n = math.ceil((length - overlap) / (side - overlap))
    step = (length - side) / (n - 1)
    return [(int(round(i * step)), int(round(i * step)) + side) for i in range(n)]


def _overlap_ratio(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float]:
    """(IoU, intersection over the smaller box) of two (x, y, w, h) boxes."""
    iw = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = iw * ih
    areas = a[2] * a[3], b[2] * b[3]
    union = areas[0] + areas[1] - inter
    return (inter / union if union > 0 else 0.0), (inter / min(areas) if min(areas) > 0 else 0.0)


def nms(faces: list[Face], iou_threshold: float = 0.3, contain: float = 0.7) -> list[Face]:
    """Greedy non-maximum suppression, highest score first.

    A face is dropped when it overlaps a kept one by more than ``iou_threshold`` IoU, or when
    ``contain`` of the smaller box lies inside the other (a part of a face found as a face).
    """
    kept: list[Face] = []
    for face in sorted(faces, key=lambda f: f.score, reverse=True):
        if all(
            (o := _overlap_ratio(face.box, k.box))[0] <= iou_threshold and o[1] <= contain
            for k in kept
        ):
            kept.append(face)
    return kept


class TiledDetector(FaceDetector):
    """Finds faces down to ``min_face`` px with a detector run on upscaled, tiled frames.

    ``make_detector(score)`` builds one inner detector (e.g. a :class:`YuNetDetector`); the
    upscaled pass uses ``score`` and the 1x pass for big faces (tiled frames only) ``score`` too.
    ``min_face`` also drops detections smaller than itself (a size prior against false
    positives on texture).
    """

    def __init__(
        self,
        make_detector: Callable[[float], FaceDetector],
        min_face: float,
        score: float = 0.6,
        tile: int = 1280,
        overlap: int | None = None,
    ) -> None:
        self.name = "yunet-tiled"  # a wrapper, not registered (ClassVar unset): not an option
        self.scale = detection_scale(min_face)
        self.min_face, self.score, self.tile = float(min_face), score, int(tile)
        # Faces up to twice the reliable size fit whole in an overlap; bigger ones are left to
        # the 1x pass, which finds them reliably.
        self.overlap = int(overlap if overlap is not None else 2 * RELIABLE_PX + 8)
        self._make = make_detector
        self._small = make_detector(score)
        self._large: FaceDetector | None = None
        self._plan: tuple[tuple[int, int], list[Tile]] | None = None

    def tiles(self, width: int, height: int) -> list[Tile]:
        if self._plan is None or self._plan[0] != (width, height):
            self._plan = ((width, height), plan_tiles(width, height, self.scale, self.tile,
                                                      self.overlap))  # fmt: skip
        return self._plan[1]

    def detect(self, image: np.ndarray) -> list[Face]:
        height, width = image.shape[:2]
        tiles = self.tiles(width, height)
        faces: list[Face] = []
        for x0, y0, x1, y1 in tiles:
            part = image[y0:y1, x0:x1]
            if self.scale != 1.0:
                part = cv2.resize(part, None, fx=self.scale, fy=self.scale,
                                  interpolation=cv2.INTER_LINEAR)  # fmt: skip
            inner = (x0 > 0, y0 > 0, x1 < width, y1 < height)
            for face in self._small.detect(part):
                mapped = face.mapped(1 / self.scale, 1 / self.scale, x0, y0)
                if len(tiles) > 1 and _cut(mapped.box, (x0, y0, x1, y1), inner):
                    continue
                faces.append(mapped)
        if len(tiles) > 1:
            if self._large is None:
                self._large = self._make(self.score)
            faces.extend(self._large.detect(image))
        # Box sizes vary by about a fifth around the true face size.
        return [f for f in nms(faces) if min(f.box[2:]) >= 0.8 * self.min_face]


def _cut(box: tuple[float, ...], tile: Tile, inner: tuple[bool, bool, bool, bool]) -> bool:
    """Whether ``box`` touches an edge of ``tile`` that lies inside the frame (a seam)."""
    x, y, w, h = box
    x0, y0, x1, y1 = tile
    margin = 1.0
    return (
        (inner[0] and x <= x0 + margin)
        or (inner[1] and y <= y0 + margin)
        or (inner[2] and x + w >= x1 - margin)
        or (inner[3] and y + h >= y1 - margin)
    )
