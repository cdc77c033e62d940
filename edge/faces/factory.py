"""The daemon's face detector, composed: a named detector, tiled for small faces, fed a copy.

``min_face`` is in capture pixels. With ``detect_width`` the detector sees frames reduced to
that width (:mod:`.scale`); where the smallest face to find is then under YuNet's reliable size,
the copy is upscaled and tiled (:mod:`.tiling`).
"""

from __future__ import annotations

import os

from .detect import FaceDetector, YuNetDetector, create_detector
from .scale import DownscaledDetector
from .tiling import TiledDetector, detection_scale


def build_detector(
    kind: str = "auto",
    face_model: str | os.PathLike | None = None,
    score: float = 0.6,
    min_face: float = 0.0,
    detect_width: int = 0,
) -> FaceDetector:
    """The detector a run uses (``detect_width`` 0: the full frame)."""
    base = create_detector(kind, face_model, score, 0)  # resolves "auto" once, checks the file

    def make(min_px: float) -> FaceDetector:
        if isinstance(base, YuNetDetector):
            model = base.model_path
            if detection_scale(min_px) > 1.0:  # small faces: upscaled, tiled frames
                return TiledDetector(lambda s: YuNetDetector(model, s), min_px, score)
            return YuNetDetector(model, score_threshold=score, min_size=int(min_px))
        return type(base).create(face_model if kind != "auto" else None, score, int(min_px))

    if detect_width:
        return DownscaledDetector(make, detect_width, min_face)
    return make(min_face)
