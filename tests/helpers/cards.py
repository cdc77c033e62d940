"""A model card in memory for tests: a 96 px int8 model, any field overridden."""

from __future__ import annotations

from fer_edge.contract.card import ModelCard, Quantization
from fer_edge.contract.recipe import CropRecipe


def int8_card(**kw) -> ModelCard:
    base = dict(
        model_file="m.tflite",
        model_format="tflite",
        sha256="a" * 64,
        crop=CropRecipe(96),
        input_dtype="int8",
        input_quantization=Quantization(1.0, -128),
        output_dtype="int8",
        output_quantization=Quantization(1 / 256, -128),
        mode="int8",
    )
    base.update(kw)
    return ModelCard(**base)
