"""Generate the demo's classroom clip: a grid of faces that drift slowly, as students would.

The faces are scikit-image's public-domain astronaut photo, tiled; no real student is shown.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np


def write_clip(path: Path, seconds: float, fps: int = 15, rows: int = 3, cols: int = 5) -> int:
    """An MJPG clip (640x360) of rows*cols astronaut faces; returns the number of faces."""
    from skimage import data

    head = np.ascontiguousarray(data.astronaut()[10:230, 120:330, ::-1])
    side = 80
    tile = cv2.resize(head, (side, side), interpolation=cv2.INTER_AREA)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (640, 360))
    if not writer.isOpened():
        raise SystemExit(f"{path}: cannot open a video writer (MJPG)")
    for f in range(int(seconds * fps)):
        frame = np.full((360, 640, 3), 110, np.uint8)
        for r in range(rows):
            for c in range(cols):
                dx = int(6 * np.sin(0.2 * f / fps * 6 + r + c))
                x, y = 30 + c * 120 + dx, 20 + r * 115
                frame[y : y + side, x : x + side] = tile
        writer.write(frame)
    writer.release()
    return rows * cols


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the .avi file to write")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    faces = write_clip(args.out, args.seconds)
    print(f"wrote {args.out} ({args.seconds:g} s, {faces} faces)")


if __name__ == "__main__":
    main()
