"""Small datasets in the real formats for the training tests: FER+ vote rows, FER2013 CSV rows,
random images."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from fer_train.synth import write_ferplus

# label.csv vote order: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt,
# unknown, NF
TIE = [4, 4, 0, 0, 0, 0, 0, 0, 2, 0]  # neutral = happiness
UNKNOWN = [2, 1, 0, 0, 0, 0, 0, 0, 6, 1]
NOT_A_FACE = [0, 0, 0, 0, 0, 0, 0, 0, 0, 10]
CONTEMPT = [3, 0, 0, 0, 0, 0, 0, 6, 1, 0]
MIXED = [5, 0, 0, 3, 1, 0, 0, 0, 1, 0]  # neutral 5, sadness 3, anger 1, unknown 1


def ferplus_with_votes(tmp_path: Path) -> Path:
    """A FER+ folder with every kind of vote row besides the synthetic faces."""
    extra = {"train": [TIE, UNKNOWN, NOT_A_FACE, CONTEMPT, MIXED], "test": [TIE, CONTEMPT]}
    return write_ferplus(tmp_path / "ferplus", per_class=2, extra=extra)


def write_fer2013_rows(path: Path, rows: list[tuple]) -> Path:
    """A fer2013.csv of ``rows`` (emotion code, pixels, Usage)."""
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["emotion", "pixels", "Usage"])
        writer.writerows(rows)
    return path


def pixels(value: int) -> str:
    """A FER2013 pixels field: a flat 48x48 image of ``value``."""
    return " ".join([str(value)] * 48 * 48)


def faces(n=8, size=32, seed=0):
    """``n`` random (seeded) RGB images of ``size`` px, uint8."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
