"""Face detectors behind one small interface: YuNet (default) and Haar (fallback).

YuNet is used whenever its model file is available: on real classroom footage Haar found no
faces at all (docs/RESULTS.md).
"""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from ..contract.errors import ConfigError, ModelFileError
from . import modelfiles

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Face:
    """One detection: box (x, y, w, h) in pixels, score, and optional 5 landmarks.

    Landmarks follow YuNet: right eye, left eye, nose tip, right and left mouth corner (the
    subject's right and left), each (x, y).
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: tuple[tuple[float, float], ...] | None = None

    def mapped(self, sx: float, sy: float, dx: float = 0.0, dy: float = 0.0) -> Face:
        """This face in another image's pixels: every x becomes ``x * sx + dx``, y likewise."""
        x, y, w, h = self.box
        marks = (
            tuple((mx * sx + dx, my * sy + dy) for mx, my in self.landmarks)
            if self.landmarks
            else None
        )
        return Face((x * sx + dx, y * sy + dy, w * sx, h * sy), self.score, marks)

    @property
    def eyes(self) -> tuple[tuple[float, float], tuple[float, float]] | None:
        return (self.landmarks[0], self.landmarks[1]) if self.landmarks else None


class FaceDetector(ABC):
    """Finds faces in a BGR (or grey) uint8 image. Subclasses register by ``name``."""

    name: ClassVar[str] = ""
    registry: ClassVar[dict[str, type[FaceDetector]]] = {}

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            FaceDetector.registry[cls.name] = cls

    @classmethod
    def create(
        cls, face_model: str | os.PathLike | None, score_threshold: float, min_size: int
    ) -> FaceDetector:
        """Build one from the run's options (``face_model``: this detector's model file).

        Every registered (named) detector implements it; wrappers (tiling, the reduced copy)
        are composed by :func:`fer_edge.faces.factory.build_detector`.
        """
        raise NotImplementedError(f"{cls.__name__} is not built from options")

    @abstractmethod
    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in ``image``, highest score first."""


class YuNetDetector(FaceDetector):
    """OpenCV's ``FaceDetectorYN`` with a YuNet ONNX model."""

    name = "yunet"

    def __init__(
        self,
        model_path: str | os.PathLike,
        score_threshold: float = 0.6,
        nms_threshold: float = 0.3,
        min_size: int = 0,
        top_k: int = 5000,
    ) -> None:
        modelfiles.check_yunet(model_path)
        self.model_path = str(model_path)
        self.min_size = min_size
        self._net = cv2.FaceDetectorYN.create(
            self.model_path, "", (320, 320), score_threshold, nms_threshold, top_k
        )
        self._input_size: tuple[int, int] | None = None

    @classmethod
    def create(cls, face_model, score_threshold, min_size) -> YuNetDetector:
        model = modelfiles.find_yunet(face_model)
        if model is None:
            raise ModelFileError(f"YuNet face model not found; {modelfiles.manual_hint()}")
        return cls(model, score_threshold=score_threshold, min_size=min_size)

    def detect(self, image: np.ndarray) -> list[Face]:
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        height, width = image.shape[:2]
        if self._input_size != (width, height):
            self._net.setInputSize((width, height))
            self._input_size = (width, height)
        _, rows = self._net.detect(image)
        faces = []
        for row in rows if rows is not None else ():
            x, y, w, h = (float(v) for v in row[:4])
            if min(w, h) < self.min_size:
                continue
            marks = tuple((float(row[i]), float(row[i + 1])) for i in range(4, 14, 2))
            faces.append(Face((x, y, w, h), float(row[14]), marks))
        faces.sort(key=lambda f: f.score, reverse=True)
        return faces


class HaarDetector(FaceDetector):
    """OpenCV's frontal-face Haar cascade. Misses most faces at classroom distance."""

    name = "haar"

    def __init__(
        self,
        cascade_path: str | os.PathLike | None = None,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_size: int = 20,
    ) -> None:
        if not hasattr(cv2, "CascadeClassifier"):
            raise ModelFileError(
                f"OpenCV {cv2.__version__} has no CascadeClassifier (dropped in OpenCV 5); "
                "use YuNet or opencv-python-headless<5"
            )
        path = modelfiles.find_haar(cascade_path)
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise ModelFileError(f"{path}: not a loadable Haar cascade")
        self.cascade_path = str(path)
        self.scale_factor, self.min_neighbors, self.min_size = scale_factor, min_neighbors, min_size

    @classmethod
    def create(cls, face_model, score_threshold, min_size) -> HaarDetector:
        """``face_model``: a cascade XML (default: OpenCV's or Debian's frontal-face one)."""
        return cls(face_model, min_size=max(min_size, 20))

    def detect(self, image: np.ndarray) -> list[Face]:
        grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        boxes, _, weights = self._cascade.detectMultiScale3(
            grey,
            self.scale_factor,
            self.min_neighbors,
            minSize=(self.min_size, self.min_size),
            outputRejectLevels=True,
        )
        faces = [
            Face(tuple(float(v) for v in box), float(weight))
            for box, weight in zip(boxes, np.ravel(weights) if len(boxes) else [], strict=True)
        ]
        faces.sort(key=lambda f: f.score, reverse=True)
        return faces


def detector_names() -> tuple[str, ...]:
    """``auto`` and every registered detector."""
    return ("auto", *FaceDetector.registry)


HAAR_NOTE = (
    "using the Haar face detector: it misses most faces at classroom distance "
    "(0 found on real classroom footage). Install the YuNet model: `fer-edge models fetch`"
)


def create_detector(
    kind: str = "auto",
    face_model: str | os.PathLike | None = None,
    score_threshold: float = 0.6,
    min_size: int = 0,
) -> FaceDetector:
    """Build a plain detector by name. ``auto``: YuNet when its model is found, else Haar (warned).

    For the daemon's detector (small faces tiled, a reduced copy of big frames) see
    :func:`fer_edge.faces.factory.build_detector`.
    """
    if kind not in detector_names():
        raise ConfigError(f"unknown detector {kind!r}; choose one of {', '.join(detector_names())}")
    if kind == "auto":
        if modelfiles.find_yunet(face_model) is not None:
            return YuNetDetector.create(face_model, score_threshold, min_size)
        detector = HaarDetector.create(None, score_threshold, min_size)
        log.warning(HAAR_NOTE)  # a fallback the user did not choose
        return detector
    detector = FaceDetector.registry[kind].create(face_model, score_threshold, min_size)
    if kind == "haar":
        log.info(HAAR_NOTE)
    return detector
