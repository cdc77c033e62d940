"""YuNet-like landmarks of the astronaut's face, for the quality gate and the frame pipeline."""

from __future__ import annotations

import numpy as np

#: YuNet's landmarks of the astronaut's frontal face: eyes, nose tip, mouth corners.
FRONTAL = ((200.1, 101.8), (247.1, 102.6), (220.4, 124.5), (198.6, 142.8), (239.7, 143.6))


def marks(nose_dx=0.0, nose_dy=0.0, squash_x=1.0, offset=(0.0, 0.0), scale=1.0):
    """FRONTAL with the nose moved (in eye distances), x squashed, then moved and scaled."""
    pts = np.array(FRONTAL)
    pts[2] += (nose_dx * 47.0, nose_dy * 40.0)
    pts[:, 0] = 223.6 + (pts[:, 0] - 223.6) * squash_x
    pts = (pts - (178, 63)) * scale + offset
    return tuple(map(tuple, pts))
