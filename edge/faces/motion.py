"""Motion between detections: constant-velocity prediction of a track's box and landmarks.

With the detector run every N frames, the frames in between carry each track forward by its
velocity (pixels a second, an exponential average of the box centre's motion between
detections). Predicted boxes are also what a new detection is matched against, so a face that
moved during N frames still overlaps its track. Only numbers are kept: no image content.
"""

from __future__ import annotations

Box = tuple[float, float, float, float]

#: Weight of the newest velocity measurement (students move little and smoothly).
VELOCITY_ALPHA = 0.5
#: A crop counts as changed when the box moved or resized by this fraction of its width.
CHANGE = 0.25


def shifted(box: Box, dx: float, dy: float) -> Box:
    x, y, w, h = box
    return (x + dx, y + dy, w, h)


def centre(box: Box) -> tuple[float, float]:
    return box[0] + box[2] / 2, box[1] + box[3] / 2


def predict(box: Box, velocity: tuple[float, float], dt: float) -> Box:
    """``box`` moved by ``velocity`` (px/s) over ``dt`` seconds."""
    return shifted(box, velocity[0] * dt, velocity[1] * dt)


def new_velocity(
    old: tuple[float, float], before: Box, after: Box, dt: float
) -> tuple[float, float]:
    """The velocity after seeing the box move from ``before`` to ``after`` in ``dt`` seconds."""
    if dt <= 0:
        return old
    (x0, y0), (x1, y1) = centre(before), centre(after)
    vx, vy = (x1 - x0) / dt, (y1 - y0) / dt
    return (
        (1 - VELOCITY_ALPHA) * old[0] + VELOCITY_ALPHA * vx,
        (1 - VELOCITY_ALPHA) * old[1] + VELOCITY_ALPHA * vy,
    )


def moved(landmarks, dx: float, dy: float):
    """Landmarks shifted with their box (None stays None)."""
    return tuple((x + dx, y + dy) for x, y in landmarks) if landmarks else landmarks


def changed(before: Box | None, after: Box) -> bool:
    """Whether a face's crop has changed enough since ``before`` to be classified again."""
    if before is None:
        return True
    (x0, y0), (x1, y1) = centre(before), centre(after)
    side = max(before[2], 1.0)
    return (
        max(abs(x1 - x0), abs(y1 - y0)) > CHANGE * side or abs(after[2] - before[2]) > CHANGE * side
    )
