"""Calibration and validation images for a conversion, through :mod:`fer_train.data`.

Images come either from the training run itself (its recorded splits) or from dataset folders
named on the command line as ``KIND=PATH``. Everything is RGB uint8 crops of the model's size.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from fer_edge.contract.errors import ConfigError, FerError

log = logging.getLogger(__name__)


def _data():
    """The data module of fer_train (imported late: it pulls in TensorFlow-side code)."""
    try:
        from fer_train import data
    except ImportError as exc:
        raise ConfigError(
            f"cannot load fer_train's dataset reader ({exc}); install fer-edge[train]"
        ) from None
    return data


def from_specs(specs: list[tuple[str, Path]], recipe, what: str):
    """Load dataset folders strictly (an unreadable image is an error, not a skip)."""
    prepared = _data().load_sources(specs, recipe, strict=True)
    if len(prepared.images) == 0:
        names = ", ".join(f"{k}={p}" for k, p in specs)
        raise ConfigError(f"no {what} images found in {names}")
    return prepared


def from_run(
    run_dir: Path, splits: tuple[str, ...], what: str, limit: int | None = None, seed: int = 0
):
    """The first non-empty split of a training run, e.g. ("test", "val").

    With ``limit``, at most that many images, stratified by class and source dataset.
    """
    data, problems = _data(), []
    for split in splits:
        try:
            prepared = data.load_split(run_dir, split, limit=limit, seed=seed)
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


def calibration_images(prepared, n: int, seed: int = 0) -> np.ndarray:
    """A representative set of at most ``n`` crops, stratified by class and source dataset."""
    sample = _data().stratified_sample(prepared, n, seed=seed)
    log.info(
        "calibration: %d of %d images, stratified by class and source", len(sample), len(prepared)
    )
    return np.asarray(sample.images)
