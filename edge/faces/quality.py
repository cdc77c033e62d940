"""The face-quality gate: faces the model cannot read are counted as unreadable, not classified.

A face is unreadable when it is smaller than the model reads reliably, turned away or looking
down (head pose estimated from YuNet's five landmarks), or blurred. Such faces are not forced into
one of the seven classes: the window counts them apart, and class shares are over readable faces
only. Defaults come from ``bench/bench_quality.py`` (see README "Face quality").

The pose is a coarse cue from landmark geometry, in degrees, with the face rotated so the eyes
are level. It uses the eyes and the nose tip only: the mouth moves with expression (a smile
widens and lifts it, surprise opens it), and the ratio of eye distance to eye-mouth height varies
from person to person by more than a 25 degree turn changes it. The nose tip stands ``NOSE_DEPTH``
eye distances in front of the eyes, so turning the head by ``yaw`` moves it sideways from the
eyes' midpoint by ``NOSE_DEPTH * tan(yaw)`` eye distances, and pitching it forward by ``pitch``
moves it down by ``NOSE_DROP * cos(pitch) + NOSE_DEPTH * sin(pitch)`` eye distances (corrected for
the eye distance foreshortened by yaw). Beyond about 40 degrees down the nose drop falls again,
so a strongly foreshortened eye-mouth height also counts as looking down.

Calibrated on real faces of many people (see README "Face quality"): ``NOSE_DROP`` is the median
nose drop of 1,194 near-frontal JAFFE and CK+ faces (17 women, 118 subjects, every expression);
``NOSE_DEPTH`` the slope of the nose offset against the eye distance's foreshortening across
1,459 FER+ faces in every pose (0.42-0.45 from 20 to 55 degrees). ``bench/bench_gate.py``
measures the result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .detect import Face

#: The nose tip's depth in front of the eyes, and its drop below the eye line in a frontal face,
#: in eye distances (YuNet's landmarks).
NOSE_DEPTH = 0.45
NOSE_DROP = 0.57
#: Eye distance over eye-mouth height of a frontal face (median of the same real faces); a
#: height foreshortened past 45 degrees' worth is a head bent down whatever the nose says.
FRONTAL_RATIO = 0.97
_STEEP = 45.0
#: Sharpness is measured on the face box resized to this many pixels a side.
SHARPNESS_PX = 24

UNREADABLE = ("small", "turned", "down", "blurred")


def head_pose(landmarks) -> tuple[float, float]:
    """(yaw, pitch) in degrees from YuNet's five landmarks; yaw >= 0, pitch > 0 looking down."""
    pts = np.asarray(landmarks, np.float64)
    right_eye, left_eye, nose, mouth_r, mouth_l = pts
    eye_mid, mouth_mid = (right_eye + left_eye) / 2, (mouth_r + mouth_l) / 2
    across = left_eye - right_eye
    iod = float(np.hypot(*across))
    if iod < 1e-6:
        return 90.0, 0.0
    ux = across / iod
    uy = np.array([-ux[1], ux[0]])  # image "down" in the face's own frame
    side = float((nose - eye_mid) @ ux) / iod
    drop = float((nose - eye_mid) @ uy) / iod
    yaw = math.degrees(math.atan(abs(side) / NOSE_DEPTH))
    drop *= math.cos(math.radians(yaw))  # the eye distance was foreshortened by the turn
    reach = math.hypot(NOSE_DROP, NOSE_DEPTH)
    pitch = math.degrees(
        math.asin(max(-1.0, min(1.0, drop / reach))) - math.atan2(NOSE_DROP, NOSE_DEPTH)
    )
    height = float((mouth_mid - eye_mid) @ uy)
    if height < 1e-6:
        return yaw, 90.0
    steep = math.degrees(math.acos(min(1.0, FRONTAL_RATIO * height / iod)))
    return yaw, (max(pitch, steep) if steep > _STEEP else pitch)


def sharpness(frame: np.ndarray, box: tuple[float, float, float, float]) -> float:
    """Detail of the face in ``box`` of ``frame``: the variance of the Laplacian over the variance
    of the grey levels, with the box resized to ``SHARPNESS_PX`` a side.

    Measured on the face's own pixels at one fixed scale, so it depends neither on the
    classification model's input size nor on the crop margin, brightness or contrast, and pixel
    noise is averaged away.
    """
    height, width = frame.shape[:2]
    x, y, w, h = box
    x0, y0 = max(0, int(round(x))), max(0, int(round(y)))
    x1, y1 = min(width, int(round(x + w))), min(height, int(round(y + h)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return 0.0
    face = frame[y0:y1, x0:x1]
    grey = cv2.cvtColor(face, cv2.COLOR_BGR2GRAY) if face.ndim == 3 else face
    size = (SHARPNESS_PX, SHARPNESS_PX)
    grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    spread = float(grey.var())
    if spread < 1e-3:
        return 0.0
    return float(cv2.Laplacian(grey, cv2.CV_32F).var() / spread)


@dataclass(frozen=True)
class QualityGate:
    """Thresholds of a readable face; a threshold of 0 switches its test off.

    min_face: face width in pixels; max_yaw, max_pitch: degrees (pitch: looking down only);
    min_sharpness: :func:`sharpness` of the face in the frame.
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

    def on_pixels(self, frame: np.ndarray, face: Face) -> str | None:
        """Why the face's own pixels in ``frame`` are unreadable (blur), or None."""
        if self.min_sharpness and sharpness(frame, face.box) < self.min_sharpness:
            return "blurred"
        return None
