"""The expression model shipped inside fer_edge: the default wherever a model is needed.

A fused ResNet50 (FER2013 + CK+48 + JAFFE), 96 px, full-integer int8, with its card beside it
(``fer_edge/data/models/``). Like any model it is checked against its card's sha256 at load.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..contract.errors import ConfigError
from .options import DEFAULT_ALIAS

NAME = "fer-resnet50-96-int8"
#: What a config or flag may say instead of a path to mean the packaged model.
ALIAS = DEFAULT_ALIAS


def models_dir() -> Path:
    """The folder of the packaged model files (a real folder in every pip install)."""
    return Path(str(resources.files("fer_edge").joinpath("data", "models")))


def default_model_path() -> Path:
    """The packaged .tflite; ConfigError (exit 78) when the installation lacks it."""
    path = models_dir() / f"{NAME}.tflite"
    for needed in (path, path.with_suffix(".json")):
        if not needed.is_file():
            raise ConfigError(
                f"{needed}: the packaged default model is missing; reinstall fer-edge "
                "or pass --model PATH.tflite"
            )
    return path


#: Keras training outputs: fer-convert turns them into a .tflite the device runs.
KERAS_SUFFIXES = (".keras", ".h5")


def resolve_model(model: str | None) -> Path:
    """``model`` as a path; None or ``"default"`` mean the packaged model.

    A Keras model (or a training run's folder) is a ConfigError that says to convert it first.
    """
    if model in (None, ALIAS):
        return default_model_path()
    path = Path(model)
    if path.suffix.lower() in KERAS_SUFFIXES or path.is_dir():
        raise ConfigError(
            f"{path}: a Keras training model, but fer-edge runs TFLite models: convert it first "
            f"with `fer-convert {path} --int8` and pass the .tflite it writes"
        )
    return path


def describe(model: str | None) -> str:
    """How to name ``model`` to a user."""
    return f"the packaged default model {NAME}" if model in (None, ALIAS) else str(model)
