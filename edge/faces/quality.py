"""The face-quality gate: faces the model cannot read are counted as unreadable, not classified.

A face is unreadable when it is smaller than the model reads reliably, turned away or looking
down (head pose estimated from YuNet's five landmarks), or blurred. Such faces are not forced into
one of the seven classes: the window counts them apart, and class shares are over readable faces
only. Defaults come from ``bench/bench_quality.py`` (see README "Face quality").

The pose is a coarse cue from landmark geometry, in degrees, with the face rotated so the eyes
are level: yaw from the nose tip's sideways offset from the eye-mouth midline (a nose ~0.5
eye-distances in front of the eyes: offset = 0.5 tan yaw) and from the eye distance foreshortened
against the eye-mouth height, whichever is larger; pitch from the nose tip's height between eyes
and mouth. (The eye-mouth height foreshortened would be a second pitch cue, but YuNet's landmarks
of one frontal face vary too much in that ratio: docs/RESULTS.md.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .detect import Face

#: Landmark geometry of a frontal face (YuNet on 32 variants of skimage's astronaut, 20-96 px,
#: medians): eye distance over eye-to-mouth height, and the nose tip's height between the eye
#: line and the mouth line.
FRONTAL_RATIO = 1.07
FRONTAL_NOSE = 0.55
#: Nose-tip depth in front of the eyes, in eye distances and in eye-mouth heights.
NOSE_DEPTH_IOD = 0.5
NOSE_DEPTH_HEIGHT = 0.58

UNREADABLE = ("small", "turned", "down", "blurred")


def head_pose(landmarks) -> tuple[float, float]:
    """(yaw, pitch) in degrees from YuNet's five landmarks; pitch > 0 is looking down."""
    pts = np.asarray(landmarks, np.float64)
    right_eye, left_eye, nose, mouth_r, mouth_l = pts
    eye_mid, mouth_mid = (right_eye + left_eye) / 2, (mouth_r + mouth_l) / 2
    across = left_eye - right_eye
    iod = float(np.hypot(*across))
    if iod < 1e-6:
        return 90.0, 0.0
    ux = across / iod
    uy = np.array([-ux[1], ux[0]])  # image "down" in the face's own frame
    height = float((mouth_mid - eye_mid) @ uy)
    if height < 1e-6:
        return 90.0, 90.0
    mid_x = float(((eye_mid + mouth_mid) / 2) @ ux)
    nose_x = float(nose @ ux) - mid_x
    nose_t = float((nose - eye_mid) @ uy) / height
    yaw_nose = math.degrees(math.atan(abs(nose_x) / iod / NOSE_DEPTH_IOD))
    ratio = (iod / height) / FRONTAL_RATIO
    yaw_width = math.degrees(math.acos(min(1.0, ratio)))
    pitch = math.degrees(math.atan((nose_t - FRONTAL_NOSE) / NOSE_DEPTH_HEIGHT))
    return max(yaw_nose, yaw_width), pitch


def sharpness(crop: np.ndarray) -> float:
    """Detail of a face crop: variance of the Laplacian over the variance of the grey levels,
    at 24 px (so it does not depend on crop size, brightness or contrast, and pixel noise is
    averaged away)."""
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
    grey = cv2.resize(grey, (24, 24), interpolation=cv2.INTER_AREA).astype(np.float32)
    spread = float(grey.var())
    if spread < 1e-3:
        return 0.0
    return float(cv2.Laplacian(grey, cv2.CV_32F).var() / spread)


@dataclass(frozen=True)
class QualityGate:
    """Thresholds of a readable face; a threshold of 0 switches its test off.

    min_face: face width in pixels; max_yaw, max_pitch: degrees (pitch: looking down only);
    min_sharpness: :func:`sharpness` of the crop.
    """

    min_face: float = 24.0
    max_yaw: float = 25.0
    max_pitch: float = 25.0
    min_sharpness: float = 0.0

    def before_crop(self, face: Face) -> str | None:
        """Why ``face`` is unreadable from its box and landmarks alone, or None."""
        if self.min_face and face.box[2] < self.min_face:
            return "small"
        if face.landmarks and (self.max_yaw or self.max_pitch):
            yaw, pitch = head_pose(face.landmarks)
            if self.max_yaw and yaw > self.max_yaw:
                return "turned"
            if self.max_pitch and pitch > self.max_pitch:
                return "down"
        return None

    def after_crop(self, crop: np.ndarray) -> str | None:
        """Why the crop is unreadable (blur), or None."""
        if self.min_sharpness and sharpness(crop) < self.min_sharpness:
            return "blurred"
        return None
