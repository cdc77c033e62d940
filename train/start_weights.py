"""What a fine-tuning run starts from: the shipped default model or another fer ``.keras`` model.

``--weights default`` or ``--weights PATH.keras`` start from a whole trained classifier (backbone
and head); the run keeps its labels and crop recipe, and its input size.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from fer_edge.contract.card import card_path_for, load_for_model, sha256_file
from fer_edge.contract.errors import CardError, ConfigError, ModelFileError
from fer_edge.contract.labels import LABELS
from fer_edge.contract.recipe import CropRecipe

log = logging.getLogger(__name__)

DEFAULT = "default"
#: The layers every fer classifier has (see :func:`fer_train.model.build_model`).
FER_LAYERS = ("caffe_preprocess", "resnet50", "expression")


def is_whole_model(weights: str) -> bool:
    """``--weights`` names a whole fer classifier rather than backbone weights."""
    return weights == DEFAULT or Path(weights).suffix == ".keras"


@dataclass(frozen=True)
class Start:
    """A trained fer classifier to fine-tune: where it is, its crop recipe, its identity."""

    weights: str
    path: Path
    sha256: str
    crop: CropRecipe
    packed_from: str | None = None  # the default model: sha256 of the .keras it was packed from

    def describe(self) -> dict:
        info = {"weights": self.weights, "path": str(self.path), "sha256": self.sha256}
        if self.packed_from:
            info["packed_from_keras_sha256"] = self.packed_from
        return info

    def load(self):
        """The Keras model (float32); for a file, checked again to be what :func:`resolve` saw."""
        if self.weights == DEFAULT:
            from .default_weights import load_default

            return load_default()
        from .model import load_model

        if sha256_file(self.path) != self.sha256:
            raise ModelFileError(f"{self.path}: changed since the run started")
        from .model import without_augmentation

        model = load_model(self.path)
        check_fer_model(model, self.path, self.crop.size)
        return without_augmentation(model)


def resolve(weights: str) -> Start | None:
    """The starting model named by ``--weights``, or None for ImageNet/scratch/backbone weights.

    Checked before any data is prepared: the default's packed file (sha256), or that PATH.keras
    loads, is a fer classifier and matches its card if it has one (without a card, fer-train's
    crop recipe at the model's input size).
    """
    if not is_whole_model(weights):
        return None
    if weights == DEFAULT:
        from .default_weights import check_packed, default_crop, read_manifest

        manifest = read_manifest()
        packed = check_packed(manifest)
        source = manifest.get("source", {})
        return Start(
            DEFAULT, packed, manifest["sha256"], default_crop(manifest), source.get("keras_sha256")
        )
    from .model import load_model

    path = Path(weights)
    if not path.is_file():
        raise ConfigError(f"{path}: model file not found")
    model = load_model(path)
    size = int(model.input_shape[1] or 0)
    check_fer_model(model, path, size)
    del model
    try:
        card_path_for(path)
    except CardError:
        log.info("%s: no model card beside it; fer-train's crop recipe at %d px", path, size)
        return Start(weights, path.resolve(), sha256_file(path), CropRecipe(size=size))
    card = load_for_model(path)  # a card that does not describe this file is an error
    if card.crop != CropRecipe(size=size):
        raise ConfigError(
            f"{path}: its card's crop recipe {card.crop.to_dict()} is not fer-train's at the "
            f"model's {size} px (margin {CropRecipe.margin}, align {CropRecipe.align})"
        )
    return Start(weights, path.resolve(), card.sha256, card.crop)


def check_fer_model(model, path: Path, size: int) -> None:
    """Refuse a Keras model that is not a fer classifier taking ``size`` px."""
    names = {layer.name for layer in model.layers}
    missing = [name for name in FER_LAYERS if name not in names]
    if missing:
        raise ModelFileError(
            f"{path}: not a fer model (no {', '.join(missing)} layer); "
            "--weights PATH.keras needs a model trained by fer-train"
        )
    in_shape, out_shape = tuple(model.input_shape), tuple(model.output_shape)
    if in_shape[1:] != (size, size, 3) or out_shape[1:] != (len(LABELS),):
        raise ModelFileError(
            f"{path}: takes {in_shape} and gives {out_shape}; expected (None, {size}, {size}, 3) "
            f"and (None, {len(LABELS)})"
        )


def image_size(requested: int | None, start: Start | None, default: int = 224) -> int:
    """The run's input size: the starting model's; an explicit different size is an error."""
    if start is None:
        return default if requested is None else requested
    if requested is not None and requested != start.crop.size:
        raise ConfigError(
            f"--image-size {requested} conflicts with the starting model "
            f"({start.weights}, {start.crop.size} px); leave --image-size out"
        )
    return start.crop.size
