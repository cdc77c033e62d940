"""The TFLite runtime adapter: one interpreter implementation, chosen once at start.

Order: ``ai-edge-litert`` (numpy 1.x and 2.x, aarch64 wheels), ``tflite-runtime`` (needs
numpy<2), ``tf.lite`` (TensorFlow; last resort, never imported unless the others are missing).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..contract.card import ModelCard, load_for_model
from ..contract.errors import ConfigError, ModelFileError
from ..contract.preprocess import dequantize, to_model_input
from .options import RUNTIMES

log = logging.getLogger(__name__)

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
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as dist_version

        try:
            version = dist_version(name)  # the runtime's name is its distribution's
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


#: What LiteRT's and TensorFlow's C++ sides print to stderr at every start or conversion:
#: our debug log, not the user's terminal.
_ROUTINE = (
    "Created TensorFlow Lite XNNPACK delegate",
    "All log messages before absl::InitializeLog() is called",
    "oneDNN custom operations are on",
    "fully_quantize: ",
)
#: A native log line's severity letter: absl ("I0000 00:00:17... file.cc:32] ...") or older
#: TensorFlow ("2023-05-01 12:17:26.168772: I tensorflow/...").
_SEVERITY = re.compile(r"^(?:([IWEF])\d{4} \d\d:\d\d:\d\d|\d{4}-\d\d-\d\d [\d:.]+: ([IWEF]) )")
#: Native INFO lines (TensorFlow's "Could not find cuda drivers", "This TensorFlow binary is
#: optimized ...") are chatter: debug, like the rest of TensorFlow's INFO output.
_LEVELS = {"I": logging.DEBUG, "W": logging.WARNING, "E": logging.ERROR, "F": logging.ERROR}


def native_levels(lines: list[str]) -> Iterator[tuple[int, str]]:
    """(our log level, line) for what native code printed: routine lines debug, lines tagged
    with a severity at theirs, an untagged line as the tagged line it continues, else warning."""
    carried = None  # the level of the tagged line that untagged lines continue
    for line in lines:
        tag = _SEVERITY.match(line)
        if any(text in line for text in _ROUTINE):
            level, carried = logging.DEBUG, None
        elif tag:
            level = carried = _LEVELS[tag.group(1) or tag.group(2)]
        else:
            level = logging.WARNING if carried is None else carried
        yield level, line


@contextlib.contextmanager
def native_stderr_to_log() -> Iterator[None]:
    """Route what native code writes to file descriptor 2 meanwhile into our log.

    The runtime prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." to stderr
    whenever a model loads (TensorFlow prints similar lines at import and conversion); such
    routine lines go to the debug log, others at their own severity (see :func:`native_levels`).
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (embedded, closed): nothing to route
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode(errors="replace")
            for level, line in native_levels([x for x in text.splitlines() if x.strip()]):
                log.log(level, "runtime: %s", line)


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
            with native_stderr_to_log():
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

    @property
    def image_size(self) -> int:
        return self.card.input_size

    def to_input(self, crops: np.ndarray) -> np.ndarray:
        """RGB uint8 crops (N, S, S, 3) → the model's input tensor (quantised by the card)."""
        q = self.card.input_quantization
        return to_model_input(
            crops, self.card.input_dtype, q.scale if q else None, q.zero_point if q else None
        )

    def invoke(self, batch: np.ndarray) -> np.ndarray:
        """Run the interpreter on a prepared input tensor; the raw output tensor."""
        if len(batch) != self._batch:
            self._interp.resize_tensor_input(self._in_index, list(batch.shape), strict=False)
            self._interp.allocate_tensors()
            self._batch = len(batch)
        self._interp.set_tensor(self._in_index, batch)
        self._interp.invoke()
        return self._interp.get_tensor(self._out_index)

    def predict(self, crops: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Class probabilities (N, 7) float32 for RGB uint8 crops (N, S, S, 3).

        One interpreter call for all crops (a frame's faces), or ``batch_size`` at a time.
        """
        n = len(crops)
        if n == 0:
            return np.empty((0, len(self.card.labels)), np.float32)
        if batch_size and n > batch_size:
            return np.concatenate(
                [self.predict(crops[i : i + batch_size]) for i in range(0, n, batch_size)]
            )
        raw = self.invoke(self.to_input(crops))
        oq = self.card.output_quantization
        return dequantize(raw, oq.scale, oq.zero_point) if oq else raw.astype(np.float32)
