"""Generated clips and frames of real (tiled astronaut) faces, in the formats the device reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: The first frame of test clips, so their windows are the same on any machine.
START = "2026-01-05T08:00:00Z"


def tile_faces(head: np.ndarray, side: int, shape=(360, 640), step: float = 1.5) -> tuple:
    """A grey frame holding copies of ``head`` scaled to ``side`` px; returns (frame, boxes)."""
    import cv2

    tile = cv2.resize(head, (side, side), interpolation=cv2.INTER_AREA)
    frame = np.full((*shape, 3), 128, np.uint8)
    boxes = []
    for r in range(4, shape[0] - side, int(side * step)):
        for c in range(4, shape[1] - side, int(side * step)):
            frame[r : r + side, c : c + side] = tile
            boxes.append((c, r, side, side))
    return frame, boxes


def write_face_clip(
    path: Path, head: np.ndarray, frames: int, fps: float = 10.0, side: int = 40
) -> Path:
    """An MJPG clip of 15 tiled astronaut heads (``side`` px tiles) drifting a pixel a frame.

    40 px tiles (faces ~17 px, a 320x180 frame) are below the quality gate's readable size;
    80 px tiles (a 640x360 frame) are readable.
    """
    import cv2

    shape = (180, 320) if side <= 40 else (360, 640)
    base, _ = tile_faces(head, side, shape=shape)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, shape[::-1])
    for i in range(frames):
        writer.write(np.roll(base, i % 6, axis=1))
    writer.release()
    return path
