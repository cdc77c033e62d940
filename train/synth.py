"""A small synthetic expression set in the real on-disk formats, for demos and tests.

Each class is a distinct, learnable grey pattern (stripes of a class-specific period and
direction plus noise), so a short training run must beat chance. Written as a FER2013 Kaggle
CSV and a CK+48 folder tree; no real faces, so no face detector is needed.

    python -m fer_train.synth OUT_DIR [--per-class N]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import cv2
import numpy as np

from fer_edge.contract.labels import CKPLUS_CODES, FER2013_CODES, LABELS

#: CK+48 folder names (CK+'s own label words).
CK48_FOLDERS = {"anger": "anger", "disgust": "disgust", "fear": "fear", "happy": "happy",
                "sadness": "sadness", "surprise": "surprise"}  # fmt: skip


def pattern(label: str, rng: np.random.Generator, size: int = 48) -> np.ndarray:
    """A grey (size, size) uint8 image whose stripes identify ``label``."""
    i = LABELS.index(label)
    period = 4 + 3 * (i % 4)
    yy, xx = np.mgrid[0:size, 0:size]
    coord = xx if i < 4 else yy
    phase = rng.uniform(0, period)
    wave = np.sin(2 * np.pi * (coord + phase) / period)
    base = 40 + 28 * i
    image = base + 50 * wave + rng.normal(0, 8, (size, size))
    return np.clip(image, 0, 255).astype(np.uint8)


def write_fer2013_csv(path: Path, per_class: int = 12, seed: int = 0) -> Path:
    """A Kaggle-style ``emotion,pixels,Usage`` CSV with Training/PublicTest/PrivateTest rows."""
    rng = np.random.default_rng(seed)
    codes = {label: code for code, label in FER2013_CODES.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["emotion", "pixels", "Usage"])
        for label in LABELS:
            for k in range(per_class):
                usage = ("Training",) * 6 + ("PublicTest", "PrivateTest")
                pixels = " ".join(map(str, pattern(label, rng).ravel().tolist()))
                writer.writerow([codes[label], pixels, usage[k % len(usage)]])
    return path


#: FER+ vote columns of our labels (label.csv order: neutral, happiness, surprise, sadness,
#: anger, disgust, fear, contempt, unknown, NF).
FERPLUS_COLUMN = {"neutral": 0, "happy": 1, "surprise": 2, "sadness": 3, "anger": 4,
                  "disgust": 5, "fear": 6}  # fmt: skip
FERPLUS_FOLDERS = {"train": "FER2013Train", "val": "FER2013Valid", "test": "FER2013Test"}


def ferplus_votes(label: str, rng: np.random.Generator) -> list[int]:
    """Ten votes with a clear majority for ``label`` (6-8 votes), the rest spread elsewhere."""
    votes = [0] * 10
    top = int(rng.integers(6, 9))
    votes[FERPLUS_COLUMN[label]] = top
    others = [c for c in range(10) if c != FERPLUS_COLUMN[label]]
    for _ in range(10 - top):
        votes[int(rng.choice(others))] += 1
    return votes


def write_ferplus(
    root: Path,
    per_class: int = 4,
    seed: int = 0,
    extra: dict[str, list[list[int]]] | None = None,
) -> Path:
    """FER+'s layout: ``FER2013{Train,Valid,Test}/`` of 48x48 PNGs and a headerless label.csv
    (``name,"(0, 0, 48, 48)",<10 vote counts>``), ``per_class`` clear-majority faces per class
    and split; ``extra``: split → additional vote rows (ties, unknown, NF, contempt ...)."""
    rng = np.random.default_rng(seed)
    n = 0
    for split, folder in FERPLUS_FOLDERS.items():
        out = root / folder
        out.mkdir(parents=True, exist_ok=True)
        rows = [(label, ferplus_votes(label, rng)) for label in LABELS for _ in range(per_class)]
        rows += [("neutral", votes) for votes in (extra or {}).get(split, [])]
        with open(out / "label.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            for label, votes in rows:
                name = f"fer{n:07d}.png"
                cv2.imwrite(str(out / name), pattern(label, rng))
                writer.writerow([name, "(0, 0, 48, 48)", *votes])
                n += 1
    return root


def write_ckplus48(root: Path, subjects: int = 6, per_subject: int = 2, seed: int = 1) -> Path:
    """A CK+48 tree: ``<class>/S0xx_00y_000000zz.png`` (no neutral class, as in CK+48)."""
    rng = np.random.default_rng(seed)
    for label, folder in CK48_FOLDERS.items():
        out = root / folder
        out.mkdir(parents=True, exist_ok=True)
        seq = [c for c, name in CKPLUS_CODES.items() if name == label][0]
        for s in range(subjects):
            for f in range(per_subject):
                name = f"S{10 + s:03d}_{seq:03d}_{f + 10:08d}.png"
                cv2.imwrite(str(out / name), pattern(label, rng))
    return root


def write_face_folder(
    root: Path, head_bgr: np.ndarray, per_class: int = 40, seed: int = 0, canvas: int = 160
) -> Path:
    """A school-style ``<root>/<label>/*.png`` folder of varied copies of one real face photo.

    Each image is ``head_bgr`` (a head-and-shoulders BGR photo) at a random scale, rotation,
    position and brightness on a grey frame, so a face detector finds it. Labels are arbitrary:
    the set measures the cost of fine-tuning, not what a model learns from it.
    """
    rng = np.random.default_rng(seed)
    for label in LABELS:
        out = root / label
        out.mkdir(parents=True, exist_ok=True)
        for k in range(per_class):
            side = int(canvas * rng.uniform(0.6, 0.85))
            head = cv2.resize(head_bgr, (side, side), interpolation=cv2.INTER_AREA)
            centre = (side / 2, side / 2)
            turn = cv2.getRotationMatrix2D(centre, rng.uniform(-10, 10), 1.0)
            head = cv2.warpAffine(head, turn, (side, side), borderMode=cv2.BORDER_REPLICATE)
            frame = np.full((canvas, canvas, 3), int(rng.integers(60, 200)), np.uint8)
            top, left = rng.integers(0, canvas - side + 1, 2)
            frame[top : top + side, left : left + side] = head
            frame = cv2.convertScaleAbs(frame, alpha=rng.uniform(0.7, 1.3), beta=0)
            cv2.imwrite(str(out / f"{label}_{k:04d}.png"), frame)
    return root


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-class", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    csv_path = write_fer2013_csv(args.out / "fer2013" / "fer2013.csv", args.per_class, args.seed)
    ck = write_ckplus48(args.out / "CK+48", seed=args.seed + 1)
    print(f"fer2013={csv_path.parent}\nckplus={ck}")


if __name__ == "__main__":
    main()
