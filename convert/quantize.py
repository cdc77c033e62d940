"""Keras model → TFLite bytes in one of four modes, and the model card read back from them.

Every model takes plain RGB pixels 0..255 (the contract in :mod:`fer_edge.contract.preprocess`),
so the representative dataset is simply the uint8 crops as float32: no preprocessing happens here.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from fer_edge.classify.runtime import native_stderr_to_log, select_runtime
from fer_edge.contract import atomic
from fer_edge.contract.card import ModelCard, Quantization, sha256_file, write_card
from fer_edge.contract.errors import ConfigError, ModelFileError
from fer_edge.contract.labels import LABELS
from fer_edge.contract.recipe import CropRecipe

log = logging.getLogger(__name__)

MODES = ("float32", "float16", "dynamic-range", "int8")


def load_keras(path: str | os.PathLike):
    """Load a ``.keras`` model; a missing or corrupt file raises ModelFileError (one line)."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: model file not found")
    from fer_train.model import load_model

    return load_model(path)


def check_model(model) -> int:
    """The square input size of a classifier taking (N, S, S, 3) and giving (N, 7)."""
    in_shape = tuple(model.input_shape)
    out_shape = tuple(model.output_shape)
    if len(in_shape) != 4 or in_shape[3] != 3 or in_shape[1] != in_shape[2] or not in_shape[1]:
        raise ModelFileError(f"model input {in_shape} is not (None, S, S, 3)")
    if len(out_shape) != 2 or out_shape[1] != len(LABELS):
        raise ModelFileError(f"model output {out_shape} is not (None, {len(LABELS)})")
    return int(in_shape[1])


def convert_to_bytes(
    model, mode: str, representative: np.ndarray | None = None, *, uint8_io: bool = False
) -> bytes:
    """Convert a Keras model; ``representative`` (RGB uint8 crops) is required for int8."""
    import tensorflow as tf

    if mode not in MODES:
        raise ConfigError(f"unknown conversion mode {mode!r}; choose one of {', '.join(MODES)}")
    size = check_model(model)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif mode == "dynamic-range":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif mode == "int8":
        reps = _check_representative(representative, size)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: _samples(reps)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        io_type = tf.uint8 if uint8_io else tf.int8
        converter.inference_input_type = io_type
        converter.inference_output_type = io_type
    captured = io.StringIO()
    try:
        # Keras prints its SavedModel signature; the converter's C++ side its settings.
        with contextlib.redirect_stdout(captured), native_stderr_to_log():
            return converter.convert()
    except Exception as exc:  # noqa: BLE001 - the converter raises ConverterError and others
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFileError(f"TFLite conversion ({mode}) failed: {reason}") from None
    finally:
        log.debug("converter output: %s", captured.getvalue().strip())


def _check_representative(representative: np.ndarray | None, size: int) -> np.ndarray:
    if representative is None or len(representative) == 0:
        raise ConfigError("int8 conversion needs calibration images (a representative dataset)")
    reps = np.asarray(representative)
    if reps.dtype != np.uint8 or reps.ndim != 4 or reps.shape[1:] != (size, size, 3):
        raise ConfigError(
            f"calibration images must be RGB uint8 (N, {size}, {size}, 3), "
            f"got {reps.dtype} {reps.shape}"
        )
    return reps


def _samples(images: np.ndarray) -> Iterator[list[np.ndarray]]:
    for image in images:
        yield [image[None].astype(np.float32)]


def read_tensor_contract(tflite_path: str | os.PathLike) -> dict[str, Any]:
    """Input/output dtype, quantisation and shape signature of a .tflite, read by the runtime."""
    interp = select_runtime().interpreter_class(model_path=str(tflite_path))
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]

    def quant(detail: dict) -> Quantization | None:
        scale, zero = detail["quantization"]
        return Quantization(float(scale), int(zero)) if scale else None

    signature = inp.get("shape_signature", inp["shape"])
    return {
        "input_dtype": np.dtype(inp["dtype"]).name,
        "input_quantization": quant(inp),
        "output_dtype": np.dtype(out["dtype"]).name,
        "output_quantization": quant(out),
        "input_signature": [int(v) for v in signature],
        "output_classes": int(out["shape"][-1]),
    }


def build_card(
    tflite_path: str | os.PathLike,
    mode: str,
    crop: CropRecipe,
    source: dict | None = None,
    model_file: str | None = None,
) -> ModelCard:
    """The card of a converted model: the tensor contract read back from the file, the crop
    recipe the model was trained with, and ``source``'s training and metrics."""
    tflite_path = Path(tflite_path)
    contract = read_tensor_contract(tflite_path)
    if contract["input_signature"][0] != -1:
        raise ModelFileError(
            f"{tflite_path}: the converted model lost its dynamic batch dimension "
            f"(input signature {contract['input_signature']})"
        )
    source = dict(source or {})
    return ModelCard(
        model_file=model_file or tflite_path.name,
        model_format="tflite",
        sha256=sha256_file(tflite_path),
        crop=crop,
        input_dtype=contract["input_dtype"],
        input_quantization=contract["input_quantization"],
        output_dtype=contract["output_dtype"],
        output_quantization=contract["output_quantization"],
        mode=mode,
        training=dict(source.get("training") or {}),
        metrics=dict(source.get("metrics") or {}),
        source={k: v for k, v in source.items() if k not in ("training", "metrics")},
    )


@contextlib.contextmanager
def write_model(
    out_path: Path, data: bytes, mode: str, crop: CropRecipe, source: dict | None
) -> Iterator[tuple[Path, ModelCard]]:
    """The one writer of a converted model and its card (``OUT.json``).

    The model goes to a temporary file beside ``out_path`` and its card is built from it; the
    block may check it (parity) and amend the card. When the block ends without an error the
    card is written and the model renamed into place, both readable by a service user;
    otherwise nothing is left behind.
    """
    with atomic.atomic_path(out_path) as tmp_model:
        tmp_model.write_bytes(data)
        tmp_model.chmod(0o644)
        card = build_card(tmp_model, mode, crop, source, model_file=out_path.name)
        yield tmp_model, card
        write_card(card, out_path.with_suffix(".json"))
        out_path.with_suffix(".json").chmod(0o644)


def convert(
    model,
    mode: str,
    out_path: Path,
    representative: np.ndarray | None = None,
    *,
    crop: CropRecipe | None = None,
    source: dict | None = None,
    uint8_io: bool = False,
) -> ModelCard:
    """Convert ``model`` (Keras model or .keras path) and write ``out_path`` plus its card.

    ``crop``: the recipe the model was trained with (default: fer-train's at the model's
    size). ``source`` describes where the model came from; its ``training`` and ``metrics``
    entries are carried into the card. Both files are written atomically.
    """
    if isinstance(model, (str, os.PathLike)):
        model = load_keras(model)
    out_path = Path(out_path)
    size = check_model(model)
    crop = crop or CropRecipe(size=size)
    if crop.size != size:
        raise ConfigError(f"crop size {crop.size} differs from the model's input {size} px")
    data = convert_to_bytes(model, mode, representative, uint8_io=uint8_io)
    with write_model(out_path, data, mode, crop, source) as (_, card):
        pass
    log.info("wrote %s (%s, %.1f MB)", out_path, mode, len(data) / 1e6)
    return card
