"""Calibration and validation images for a conversion, through :mod:`fer_train.data`.

Images come either from the training run itself (its recorded splits) or from dataset folders
named on the command line as ``KIND=PATH``. Everything is RGB uint8 crops of the model's size.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from fer_edge.errors import ConfigError, FerError

log = logging.getLogger(__name__)

#: Dataset kinds ``fer_train.data.load_sources`` understands.
KINDS = ("fer2013", "ckplus", "jaffe", "folder")


def _data():
    """The data module of fer_train (imported late: it pulls in TensorFlow-side code)."""
    try:
        from fer_train import data
    except ImportError as exc:
        raise ConfigError(
            f"cannot load fer_train's dataset reader ({exc}); install fer-edge[train]"
        ) from None
    return data


def parse_spec(text: str) -> tuple[str, Path]:
    """``KIND=PATH`` → (kind, path); a bad kind or a missing path raises ConfigError."""
    kind, sep, path = text.partition("=")
    kind = kind.strip().lower()
    if not sep or not path:
        raise ConfigError(f"{text!r}: expected KIND=PATH with KIND one of {', '.join(KINDS)}")
    if kind not in KINDS:
        raise ConfigError(f"{text!r}: unknown dataset kind {kind!r}; use one of {', '.join(KINDS)}")
    if not Path(path).exists():
        raise ConfigError(f"{path}: dataset path not found")
    return kind, Path(path)


def from_specs(specs: list[tuple[str, Path]], image_size: int, what: str):
    """Load dataset folders strictly (an unreadable image is an error, not a skip)."""
    prepared = _data().load_sources(specs, image_size, strict=True)
    if len(prepared.images) == 0:
        names = ", ".join(f"{k}={p}" for k, p in specs)
        raise ConfigError(f"no {what} images found in {names}")
    return prepared


def from_run(run_dir: Path, splits: tuple[str, ...], what: str):
    """The first non-empty split of a training run, e.g. ("test", "val")."""
    data, problems = _data(), []
    for split in splits:
        try:
            prepared = data.load_split(run_dir, split)
        except FerError as exc:
            problems.append(str(exc))
            continue
        if len(prepared.images):
            return prepared, split
        problems.append(f"split {split!r} is empty")
    raise ConfigError(
        f"{run_dir}: no {what} data in the run ({'; '.join(problems)}); "
        f"pass --{'calibration' if what == 'calibration' else 'validate'} KIND=PATH"
    )


def stratified_indices(
    labels: np.ndarray, datasets: np.ndarray, n: int, seed: int = 0
) -> np.ndarray:
    """Up to ``n`` indices spread evenly over (class, dataset) groups, random within a group."""
    rng = np.random.default_rng(seed)
    groups: dict[tuple, list[int]] = {}
    for i, key in enumerate(zip(labels.tolist(), datasets.tolist(), strict=True)):
        groups.setdefault(key, []).append(i)
    queues = [list(rng.permutation(idx)) for _, idx in sorted(groups.items())]
    picked: list[int] = []
    while len(picked) < n and any(queues):
        for queue in queues:
            if queue and len(picked) < n:
                picked.append(int(queue.pop()))
    return np.array(sorted(picked), dtype=np.int64)


def calibration_images(prepared, n: int, seed: int = 0) -> np.ndarray:
    """A stratified representative set of at most ``n`` crops."""
    idx = stratified_indices(
        np.asarray(prepared.labels), np.asarray(prepared.datasets), n, seed=seed
    )
    log.info(
        "calibration: %d of %d images, stratified by class and source",
        len(idx),
        len(prepared.images),
    )
    return np.asarray(prepared.images)[idx]
