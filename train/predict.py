"""Prediction adapters: probabilities of a .keras or .tflite model for RGB uint8 face crops.

One adapter per model kind, used by evaluate, predict, parity and bench alike: Keras here,
TFLite :class:`fer_edge.classify.runtime.Classifier` on the device side. Both take uint8
crops (the pixel contract) and return (N, 7) float32 probabilities, batch by batch.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from fer_edge.contract.card import ModelCard, load_for_model
from fer_edge.contract.errors import CardError, ConfigError
from fer_edge.contract.labels import LABELS

log = logging.getLogger(__name__)

#: Batches converted to float32 at a time: bounded memory, few predict() calls.
CHUNK = 32


class KerasPredictor:
    """A Keras model, run in batches (no float copy of a whole split: 3,589 FER2013 test crops
    at 224 px would be 2.2 GB)."""

    def __init__(self, model, card: ModelCard | None = None) -> None:
        self.model, self.card = model, card
        self.image_size = int(model.input_shape[1])

    @classmethod
    def load(cls, path: Path) -> KerasPredictor:
        """A saved .keras model, with its card where one describes it (else a warning)."""
        from .model import load_model

        model = load_model(path)
        try:
            card = load_for_model(path)
        except CardError as exc:
            log.warning("%s", exc)
            card = None
        return cls(model, card)

    def predict(self, images: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """Keras' own ``predict`` (compiled, distributed like training, on any backend), fed
        float32 copies of ``CHUNK`` batches at a time."""
        if len(images) == 0:
            return np.zeros((0, len(LABELS)), np.float32)
        step = batch_size * CHUNK
        out = [
            self.model.predict(
                images[i : i + step].astype(np.float32), batch_size=batch_size, verbose=0
            )
            for i in range(0, len(images), step)
        ]
        return np.concatenate(out).astype(np.float32)


def open_predictor(path: Path):
    """The adapter for a .keras or .tflite file; each has ``card``, ``image_size``, ``predict``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".keras":
        return KerasPredictor.load(path)
    if suffix == ".tflite":
        from fer_edge.classify.runtime import Classifier

        return Classifier(path)
    raise ConfigError(f"{path}: expected a .keras or .tflite model")
