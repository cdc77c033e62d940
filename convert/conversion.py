"""One conversion end to end: model → calibration → TFLite → parity → model + card, or nothing.

The converted model is written to a temp file beside the output, checked through the device
runtime, and renamed into place only when parity passes (or is forced).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fer_edge.classify.runtime import Classifier
from fer_edge.contract.card import ModelCard, card_path_for, load_for_model, sha256_file
from fer_edge.contract.errors import CardError, ConfigError, FerError, ModelFileError
from fer_edge.contract.recipe import CropRecipe
from fer_train.data import read_run, run_recipe
from fer_train.predict import KerasPredictor

from . import calibration
from . import parity as parity_mod
from .quantize import check_model, convert_to_bytes, load_keras, write_model

log = logging.getLogger(__name__)


class ParityError(FerError):
    """The converted model disagrees with the float model too often."""

    def __init__(self, message: str, parity: dict) -> None:
        super().__init__(message)
        self.parity = parity


@dataclass
class Request:
    model: Path  # a run directory or a .keras file
    mode: str = "float32"
    out: Path | None = None
    calibration: list[tuple[str, Path]] = field(default_factory=list)
    validate: list[tuple[str, Path]] = field(default_factory=list)
    samples: int = 300
    uint8_io: bool = False
    threshold: float = parity_mod.DEFAULT_THRESHOLD
    force: bool = False
    seed: int = 0


@dataclass
class Source:
    """Where the Keras model came from: the file, its run (if any) and its card (if any)."""

    keras_path: Path
    run_dir: Path | None
    card: ModelCard | None

    @classmethod
    def resolve(cls, path: Path) -> Source:
        path = Path(path)
        if path.is_dir():
            keras_path = path / "model.keras"
            if not keras_path.is_file():
                raise ModelFileError(f"{path}: run directory holds no model.keras")
            run_dir: Path | None = path if (path / "run.json").is_file() else None
        elif path.suffix.lower() == ".tflite":
            raise ConfigError(
                f"{path}: already a TFLite model; fer-convert takes a fer-train run folder or "
                "its model.keras"
            )
        elif path.is_file() and path.suffix.lower() not in (".keras", ".h5"):
            raise ConfigError(
                f"{path}: not a Keras model (.keras or .h5); fer-convert takes a fer-train run "
                "folder or its model.keras"
            )
        elif path.is_file() or path.suffix == ".keras":
            keras_path = path
            run_dir = path.parent if (path.parent / "run.json").is_file() else None
        else:
            raise ModelFileError(f"{path}: no such run directory or model file")
        if not keras_path.is_file():
            raise ModelFileError(f"{keras_path}: model file not found")
        try:
            card_path_for(keras_path)
        except CardError:
            log.warning("%s has no model card; using the default crop recipe", keras_path)
            card = None
        else:
            card = load_for_model(keras_path)
        return cls(keras_path, run_dir, card)

    def recipe(self, size: int) -> CropRecipe:
        """The crop recipe the model was trained with: its card's, else its run's, else
        fer-train's at the model's input size."""
        if self.card is not None:
            return self.card.crop
        if self.run_dir is not None:
            return run_recipe(read_run(self.run_dir))
        return CropRecipe(size=size)

    def describe(self) -> dict:
        sha = self.card.sha256 if self.card else sha256_file(self.keras_path)
        info: dict = {"keras_model": str(self.keras_path), "keras_sha256": sha}
        if self.run_dir is not None:
            info["run"] = str(self.run_dir)
            run = read_run(self.run_dir)  # a missing or broken run.json is a one-line error
            info["run_sources"] = run.get("sources", [])
            info["run_parameters"] = run.get("parameters", {})
        if self.card is not None:
            info["training"] = self.card.training
            info["metrics"] = self.card.metrics
        return info


def default_out(source: Source, mode: str) -> Path:
    folder = source.run_dir or source.keras_path.parent
    return folder / f"model_{mode}.tflite"


def check_writable(out: Path) -> None:
    """Refuse an output that is not a .tflite file in a folder we can write (or create)."""
    if out.suffix != ".tflite":
        raise ConfigError(f"{out}: the output must be a .tflite file")
    if out.is_dir():
        raise ConfigError(f"{out}: output path is a directory")
    existing = out.parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{out}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{out}: output folder {existing} is not writable")


@contextlib.contextmanager
def output_folder(folder: Path) -> Iterator[None]:
    """Create ``folder`` (and parents) for the block; remove what was created if it fails."""
    created = []
    for parent in reversed([folder, *folder.parents]):
        if not parent.exists():
            created.append(parent)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{folder}: cannot create the output folder ({exc.strerror})") from None
    try:
        yield
    except BaseException:
        for path in reversed(created):
            with contextlib.suppress(OSError):  # not empty: something else wrote there
                path.rmdir()
        raise


def _calibration(req: Request, source: Source, recipe: CropRecipe) -> tuple[np.ndarray, dict]:
    if req.calibration:
        prepared = calibration.from_specs(req.calibration, recipe, "calibration")
        origin = [f"{k}={p}" for k, p in req.calibration]
    elif source.run_dir is not None:
        prepared, split = calibration.from_run(
            source.run_dir, ("train",), "calibration", limit=req.samples, seed=req.seed
        )
        origin = [f"run:{split}"]
    else:
        raise ConfigError(
            f"{source.keras_path}: int8 needs calibration images: the model is not in a run "
            "directory, so pass --calibration KIND=PATH"
        )
    images = calibration.calibration_images(prepared, req.samples, seed=req.seed)
    return images, {"from": origin, "samples": int(len(images))}


def _validation(req: Request, source: Source, recipe: CropRecipe):
    if req.validate:
        prepared = calibration.from_specs(req.validate, recipe, "validation")
        return prepared, [f"{k}={p}" for k, p in req.validate]
    if source.run_dir is None:
        raise ConfigError(
            f"{source.keras_path}: the parity check needs held-out images: the model is not in "
            "a run directory, so pass --validate KIND=PATH"
        )
    prepared, split = calibration.from_run(source.run_dir, ("test", "val"), "validation")
    return prepared, [f"run:{split}"]


def run(req: Request) -> tuple[Path, ModelCard]:
    """Convert, check parity and write ``MODEL.tflite`` + ``MODEL.json``; return both."""
    if req.samples < 1:
        raise ConfigError(f"--samples must be at least 1, got {req.samples}")
    source = Source.resolve(req.model)
    out = Path(req.out) if req.out else default_out(source, req.mode)
    check_writable(out)
    model = load_keras(source.keras_path)
    size = check_model(model)
    recipe = source.recipe(size)
    if recipe.size != size:
        raise CardError(
            f"{source.keras_path}: model input {size} px but its card says {recipe.size}"
        )
    info = source.describe()
    representative = None
    if req.mode == "int8":
        representative, info["calibration"] = _calibration(req, source, recipe)
    validation, info["validation"] = _validation(req, source, recipe)
    info["uint8_io"] = req.uint8_io if req.mode == "int8" else False

    started = time.perf_counter()
    data = convert_to_bytes(model, req.mode, representative, uint8_io=req.uint8_io)
    info["conversion_seconds"] = round(time.perf_counter() - started, 2)
    with output_folder(out.parent), write_model(out, data, req.mode, recipe, info) as (tmp, card):
        classifier = Classifier(tmp, card=card)
        p_float = KerasPredictor(model).predict(validation.images, batch_size=64)
        p_conv = classifier.predict(validation.images, batch_size=64)
        card.parity = parity_mod.compare(
            p_float, p_conv, validation.labels, req.threshold, validation.datasets
        )
        card.parity["data"] = info["validation"]
        if not card.parity["passed"] and not req.force:
            raise ParityError(
                f"top-1 agreement {card.parity['agreement']:.1%} is below the threshold "
                f"{req.threshold:.1%}; nothing written (use --force to keep it anyway)",
                card.parity,
            )
    return out, card
