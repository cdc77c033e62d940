"""The faces section of the run's configuration: detection, tracking and the quality gate."""

from __future__ import annotations

from dataclasses import dataclass

from ..options import check_fields, option

#: ``auto`` and the registered detectors (:func:`.detect.detector_names`; a test keeps them
#: equal), stated here so that reading a config does not load OpenCV.
DETECTORS = ("auto", "yunet", "haar")


@dataclass
class FacesOptions:
    """The face detector (:mod:`.detect`; built by :mod:`.factory`, on a reduced copy by
    :mod:`.scale`), the tracker (:mod:`.tracker`) and the quality gate (:mod:`.quality`)."""

    detector: str = option("auto", "Face detector.", DETECTORS)
    face_model: str | None = option(
        None, "YuNet ONNX model [looked up; see `fer-edge models path`].", path=True
    )
    min_face: int = option(
        0,
        "Smallest face to find, capture px; under 20 detection px the copy is upscaled (tiled).",
        ge=0,
        le=4096,
    )
    detect_width: int = option(
        960,
        "The detector sees frames reduced to this width, px (faces are read at full size); "
        "0: it detects on the full frame.",
        ge=160,
        le=7680,
        off=0,
        note="0: detect on the full frame",
    )
    score: float = option(0.6, "Face detector score threshold.", gt=0, le=1)
    detect_every: int = option(
        1,
        "Run the face detector every N frames, track in between.",
        ge=1,
        le=1000,
        note="1: every frame",
    )
    track_iou: float = option(0.3, "IoU to link a face to a track.", gt=0, lt=1)
    track_max_age: float = option(1.0, "Seconds a track survives unseen.", gt=0, le=3600)
    smoothing: float = option(0.3, "EMA weight of the newest frame in a track's class.", gt=0, le=1)
    readable_face: float = option(
        24.0,
        "Faces narrower (px) are counted unreadable; 0: off.",
        ge=0,
        le=4096,
        note="0: no size test",
    )
    max_yaw: float = option(
        25.0,
        "Faces turned more (degrees, from landmarks) are unreadable.",
        ge=0,
        le=90,
        note="degrees; 0: no test",
    )
    max_pitch: float = option(
        25.0,
        "Faces looking down more (degrees) are unreadable.",
        ge=0,
        le=90,
        note="degrees; 0: no test",
    )
    min_sharpness: float = option(
        0.5,
        "Blurrier faces (detail measure) are unreadable; 0: off.",
        ge=0,
        le=100,
        note="0: no blur test",
    )

    @property
    def quality_gate(self):
        """The face-quality gate these thresholds make (see :mod:`.quality`)."""
        from .quality import QualityGate

        return QualityGate(self.readable_face, self.max_yaw, self.max_pitch, self.min_sharpness)

    @property
    def needs_yunet(self) -> bool:
        """Whether this configuration cannot run without the YuNet model file."""
        return self.detector == "yunet"

    def validate(self) -> None:
        check_fields(self)
