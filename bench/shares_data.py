"""Labelled faces and a model's probabilities for the share benches, computed once and cached.

FER+ (``FER2013Valid``/``FER2013Test`` with ``label.csv``): the majority of the ten votes,
ties, ``unknown``, ``NF`` (not a face) and ``contempt`` dropped. Each face goes through the
device's own crop (:func:`fer_edge.faces.crop.crop_square`) and, for the simulated face sizes,
:func:`fer_train.augment.shrink` (shrunk to PX and enlarged back, as a classroom camera's small
faces). The probabilities are cached outside the repository (``--cache``), keyed by the model's
sha256 and the split, so that the bench never recomputes them and never stores a face.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np

from fer_edge.capture.imageio import read_image
from fer_edge.contract.labels import LABELS
from fer_edge.contract.recipe import CropRecipe
from fer_edge.faces.crop import crop_square

log = logging.getLogger(__name__)

#: FER+ label.csv vote columns after the name and the box, in file order.
FERPLUS_COLUMNS = (
    "neutral",
    "happy",
    "surprise",
    "sadness",
    "anger",
    "disgust",
    "fear",
    "contempt",
    "unknown",
    "NF",
)
#: Simulated face sizes; "native" is the image as it is (48 px for FER+).
SIZES = ("native", "48", "32", "24")


def ferplus_majority(folder: Path) -> tuple[list[Path], np.ndarray]:
    """The images of a FER+ split folder with a clear majority label among the 7 classes."""
    paths, labels = [], []
    with open(folder / "label.csv", newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            if len(row) != 2 + len(FERPLUS_COLUMNS):
                continue
            votes = np.array([float(v) for v in row[2:]])
            top = np.flatnonzero(votes == votes.max())
            if len(top) != 1:
                continue  # a tie
            name = FERPLUS_COLUMNS[int(top[0])]
            if name not in LABELS:
                continue  # contempt, unknown, not a face
            paths.append(folder / row[0])
            labels.append(LABELS.index(name))
    return paths, np.array(labels, np.int64)


def crops_at(image: np.ndarray, size: int, sizes=SIZES) -> list[np.ndarray]:
    """The device's crop of a whole face image, at each simulated face size."""
    from fer_train.augment import shrink

    full = crop_square(image, (0, 0, image.shape[1], image.shape[0]), CropRecipe(size, 0.0))
    return [full if s == "native" else shrink(full, int(s)) for s in sizes]


def cached_probs(model: Path, folder: Path, cache: Path, sizes=SIZES) -> dict[str, np.ndarray]:
    """``labels`` and ``probs:SIZE`` (N, 7) of the FER+ split ``folder`` under ``model``."""
    from fer_edge.classify.runtime import Classifier

    classifier = Classifier(model)
    key = f"{classifier.card.sha256[:12]}-{folder.name}.npz"
    path = cache / key
    if path.is_file():
        with np.load(path) as data:
            if all(f"probs:{s}" in data for s in sizes):
                return dict(data)
    paths, labels = ferplus_majority(folder)
    out: dict[str, list] = {s: [] for s in sizes}
    batch: list[list[np.ndarray]] = []

    def run() -> None:
        for i, s in enumerate(sizes):
            out[s].append(classifier.predict(np.stack([crops[i] for crops in batch])))
        batch.clear()

    for n, image_path in enumerate(paths, start=1):
        batch.append(crops_at(read_image(image_path), classifier.image_size, sizes))
        if len(batch) == 64:
            run()
        if n % 1000 == 0:
            log.info("%s: %d/%d faces", folder.name, n, len(paths))
    if batch:
        run()
    result = {"labels": labels, **{f"probs:{s}": np.concatenate(out[s]) for s in sizes}}
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **result)
    tmp.replace(path)
    return result
