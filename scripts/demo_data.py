"""Generate the demo's inputs: a synthetic FER2013-format CSV and a multi-face classroom clip.

The CSV follows Kaggle's real format (``emotion,pixels,Usage``; 48x48 grey, space-separated;
Training / PublicTest / PrivateTest) but holds synthetic patterns, one per class, so a model can
learn it in a minute: its labels mean nothing. The clip tiles scikit-image's public-domain
astronaut photo into a grid of faces that drift slowly, as students would.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import cv2
import numpy as np


def pattern(code: int, rng: np.random.Generator) -> np.ndarray:
    """A 48x48 grey image whose stripe angle and frequency encode ``code`` (0-6), plus noise."""
    yy, xx = np.mgrid[0:48, 0:48].astype(np.float32)
    angle = np.pi * code / 7 + rng.normal(0, 0.05)
    freq = 0.25 + 0.05 * code
    wave = np.sin(freq * (xx * np.cos(angle) + yy * np.sin(angle)) + rng.uniform(0, 2 * np.pi))
    image = 128 + 90 * wave + rng.normal(0, 12, wave.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def write_fer2013_csv(path: Path, per_class: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    usages = ["Training"] * 8 + ["PublicTest", "PrivateTest"]
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["emotion", "pixels", "Usage"])
        for i in range(per_class):
            for code in range(7):
                pixels = " ".join(map(str, pattern(code, rng).ravel()))
                writer.writerow([code, pixels, usages[i % len(usages)]])


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
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-class", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    write_fer2013_csv(args.out / "fer2013.csv", args.per_class)
    faces = write_clip(args.out / "classroom.avi", args.seconds)
    print(
        f"wrote {args.out / 'fer2013.csv'} ({7 * args.per_class} images) and "
        f"{args.out / 'classroom.avi'} ({args.seconds:g} s, {faces} faces)"
    )


if __name__ == "__main__":
    main()
