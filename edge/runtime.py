"""The TFLite runtime adapter: one interpreter implementation, chosen once at start.

Order: ``ai-edge-litert`` (numpy 1.x and 2.x, aarch64 wheels), ``tflite-runtime`` (needs
numpy<2), ``tf.lite`` (TensorFlow; last resort, never imported unless the others are missing).
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .card import ModelCard, load_for_model
from .errors import ConfigError, ModelFileError
from .preprocess import dequantize, to_model_input

log = logging.getLogger(__name__)

RUNTIMES = ("ai-edge-litert", "tflite-runtime", "tensorflow")
_MODULES = {
    "ai-edge-litert": "ai_edge_litert.interpreter",
    "tflite-runtime": "tflite_runtime.interpreter",
    "tensorflow": "tensorflow",
}


@dataclass(frozen=True)
class Runtime:
    name: str
    interpreter_class: type
    version: str


def _load(name: str) -> Runtime:
    module = importlib.import_module(_MODULES[name])
    if name == "tensorflow":
        cls = module.lite.Interpreter
        version = module.__version__
    else:
        cls = module.Interpreter
        dist = {"ai-edge-litert": "ai-edge-litert", "tflite-runtime": "tflite-runtime"}[name]
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as dist_version

        try:
            version = dist_version(dist)
        except PackageNotFoundError:
            version = "unknown"
    return Runtime(name, cls, version)


def probe(name: str) -> tuple[Runtime | None, str]:
    """Try one runtime: (runtime, "") or (None, why it is unusable)."""
    try:
        return _load(name), ""
    except Exception as exc:  # noqa: BLE001 - any import failure makes the runtime unusable
        return None, f"{type(exc).__name__}: {exc}".splitlines()[0]


def select_runtime(preferred: str | None = None) -> Runtime:
    """The first usable runtime in order (or exactly ``preferred``)."""
    if preferred is not None and preferred not in RUNTIMES:
        raise ConfigError(f"unknown runtime {preferred!r}; choose one of {', '.join(RUNTIMES)}")
    reasons = []
    for name in (preferred,) if preferred else RUNTIMES:
        runtime, why = probe(name)
        if runtime is not None:
            return runtime
        reasons.append(f"{name}: {why}")
    raise ModelFileError(
        "no TFLite runtime is usable ("
        + "; ".join(reasons)
        + "); install one: pip install ai-edge-litert"
    )


class Classifier:
    """A converted expression model, run in batches of RGB uint8 face crops."""

    def __init__(
        self,
        model_path: str | os.PathLike,
        card: ModelCard | None = None,
        threads: int | None = None,
        runtime: Runtime | None = None,
    ) -> None:
        self.model_path = Path(model_path)
        self.card = card or load_for_model(self.model_path)
        if self.card.model_format != "tflite":
            raise ModelFileError(f"{self.model_path}: the device runs .tflite models only")
        self.runtime = runtime or select_runtime()
        try:
            self._interp = self.runtime.interpreter_class(
                model_path=str(self.model_path), num_threads=threads or os.cpu_count()
            )
            self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelFileError(
                f"{self.model_path}: not a loadable TFLite model ({str(exc).splitlines()[0]})"
            ) from None
        inp = self._interp.get_input_details()[0]
        out = self._interp.get_output_details()[0]
        self._in_index, self._out_index = inp["index"], out["index"]
        self._check_against_card(inp, out)
        self._batch = int(inp["shape"][0])

    def _check_against_card(self, inp: dict, out: dict) -> None:
        card, size = self.card, self.card.input_size
        problems = []
        if list(inp["shape"][1:]) != [size, size, 3]:
            problems.append(f"input shape {list(inp['shape'])} vs card size {size}")
        if np.dtype(inp["dtype"]).name != card.input_dtype:
            problems.append(f"input dtype {np.dtype(inp['dtype'])} vs card {card.input_dtype}")
        if np.dtype(out["dtype"]).name != card.output_dtype:
            problems.append(
                f"output dtype {np.dtype(out['dtype']).name} vs card {card.output_dtype}"
            )
        if int(out["shape"][-1]) != len(card.labels):
            problems.append(f"{out['shape'][-1]} outputs vs {len(card.labels)} labels")
        for name, detail, quant in (
            ("input", inp, card.input_quantization),
            ("output", out, card.output_quantization),
        ):
            scale, zero = detail["quantization"]
            if quant and (not np.isclose(scale, quant.scale) or zero != quant.zero_point):
                problems.append(f"{name} quantisation ({scale}, {zero}) vs card")
        if problems:
            raise ModelFileError(
                f"{self.model_path}: model does not match its card: " + "; ".join(problems)
            )

    def predict(self, crops: np.ndarray) -> np.ndarray:
        """Class probabilities (N, 7) float32 for RGB uint8 crops (N, S, S, 3), in one call."""
        n = len(crops)
        if n == 0:
            return np.empty((0, len(self.card.labels)), np.float32)
        card = self.card
        q = card.input_quantization
        batch = to_model_input(
            crops, card.input_dtype, q.scale if q else None, q.zero_point if q else None
        )
        if n != self._batch:
            self._interp.resize_tensor_input(self._in_index, list(batch.shape), strict=False)
            self._interp.allocate_tensors()
            self._batch = n
        self._interp.set_tensor(self._in_index, batch)
        self._interp.invoke()
        raw = self._interp.get_tensor(self._out_index)
        oq = card.output_quantization
        return dequantize(raw, oq.scale, oq.zero_point) if oq else raw.astype(np.float32)
