"""The model card: a JSON file beside every model that says exactly how to feed it.

A card is validated when it is loaded, and the model file's sha256 is checked against it, so a
device never runs a model with the wrong labels, input size or quantisation.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from . import atomic
from .errors import CardError
from .labels import LABELS
from .preprocess import PIXEL_CONTRACT
from .recipe import CropRecipe

SCHEMA = "fer-edge/model-card"
SCHEMA_VERSION = 1
DTYPES = ("float32", "float16", "int8", "uint8")
FORMATS = ("keras", "tflite")
MODES = ("keras", "float32", "float16", "dynamic-range", "int8")


@dataclass(frozen=True)
class Quantization:
    scale: float
    zero_point: int

    def to_dict(self) -> dict:
        return {"scale": self.scale, "zero_point": self.zero_point}


@dataclass
class ModelCard:
    """Everything a runtime needs to know about a model, and where it came from."""

    model_file: str
    model_format: str
    sha256: str
    crop: CropRecipe
    input_dtype: str = "float32"
    input_quantization: Quantization | None = None
    output_dtype: str = "float32"
    output_quantization: Quantization | None = None
    mode: str = "keras"
    labels: tuple[str, ...] = LABELS
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    parity: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)
    about: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=dict)
    created: str = field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")
    )

    @property
    def input_size(self) -> int:
        return self.crop.size

    @property
    def class_prior(self) -> tuple[float, ...] | None:
        """The training split's class shares in label order (``training.class_prior``)."""
        prior = self.training.get("class_prior")
        return tuple(float(prior[label]) for label in self.labels) if prior else None

    def to_dict(self) -> dict[str, Any]:
        def quant(q: Quantization | None) -> dict | None:
            return q.to_dict() if q else None

        return {
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "labels": list(self.labels),
            "model": {"file": self.model_file, "format": self.model_format, "sha256": self.sha256},
            "mode": self.mode,
            "input": {
                "shape": [None, self.input_size, self.input_size, 3],
                "dtype": self.input_dtype,
                "pixels": PIXEL_CONTRACT,
                "quantization": quant(self.input_quantization),
            },
            "output": {
                "shape": [None, len(self.labels)],
                "dtype": self.output_dtype,
                "activation": "softmax",
                "quantization": quant(self.output_quantization),
            },
            "crop": self.crop.to_dict(),
            "training": self.training,
            "metrics": self.metrics,
            "parity": self.parity,
            "source": self.source,
            "about": self.about,
            **({"calibration": self.calibration} if self.calibration else {}),
            "created": self.created,
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "model card") -> ModelCard:
        """Validate ``data`` and build a card; any problem raises CardError naming ``where``."""

        def fail(problem: str) -> CardError:
            return CardError(f"{where}: {problem}")

        if not isinstance(data, dict):
            raise fail("not a JSON object")
        if data.get("schema") != SCHEMA:
            raise fail(f"schema is {data.get('schema')!r}, expected {SCHEMA!r}")
        if data.get("schema_version") != SCHEMA_VERSION:
            raise fail(f"unsupported schema_version {data.get('schema_version')!r}")
        for key in ("labels", "model", "input", "output", "crop", "mode"):
            if key not in data:
                raise fail(f"missing field {key!r}")
        labels = data["labels"]
        if list(labels) != list(LABELS):
            raise fail(f"labels {labels} differ from the contract's order {list(LABELS)}")
        model, inp, out = data["model"], data["input"], data["output"]
        if not isinstance(model, dict) or model.get("format") not in FORMATS:
            raise fail(f"model.format must be one of {FORMATS}")
        sha = model.get("sha256")
        if not isinstance(sha, str) or len(sha) != 64:
            raise fail("model.sha256 must be a 64-character hex digest")
        if data["mode"] not in MODES:
            raise fail(f"mode {data['mode']!r} is not one of {MODES}")
        if inp.get("pixels") != PIXEL_CONTRACT:
            raise fail(f"input.pixels is {inp.get('pixels')!r}, expected {PIXEL_CONTRACT!r}")
        try:
            crop = CropRecipe.from_dict(data["crop"])
        except (KeyError, TypeError, ValueError) as exc:
            raise fail(f"bad crop recipe: {exc}") from None
        shape = inp.get("shape")
        if not (isinstance(shape, list) and len(shape) == 4 and shape[1:] == [crop.size] * 2 + [3]):
            raise fail(f"input.shape {shape} does not match the crop size {crop.size}")
        if out.get("shape") != [None, len(LABELS)]:
            raise fail(f"output.shape {out.get('shape')} is not [null, {len(LABELS)}]")
        quants = []
        for name, part in (("input", inp), ("output", out)):
            if part.get("dtype") not in DTYPES:
                raise fail(f"{name}.dtype {part.get('dtype')!r} is not one of {DTYPES}")
            q = part.get("quantization")
            if part["dtype"] in ("int8", "uint8"):
                if not isinstance(q, dict) or not _is_quant(q):
                    raise fail(f"{name} is {part['dtype']} but has no valid quantization")
                quants.append(Quantization(float(q["scale"]), int(q["zero_point"])))
            else:
                quants.append(None)
        training = data.get("training") or {}
        if not isinstance(training, dict):
            raise fail("training must be a JSON object")
        if "class_prior" in training and not _is_prior(training["class_prior"]):
            raise fail(
                "training.class_prior must give a share >= 0 for each of "
                f"{', '.join(LABELS)} (not all 0)"
            )
        calibration = data.get("calibration") or {}
        problem = calibration_problem(calibration) if calibration else None
        if problem:
            raise fail(f"calibration: {problem}")
        return cls(
            model_file=str(model.get("file", "")),
            model_format=model["format"],
            sha256=sha,
            crop=crop,
            input_dtype=inp["dtype"],
            input_quantization=quants[0],
            output_dtype=out["dtype"],
            output_quantization=quants[1],
            mode=data["mode"],
            labels=tuple(labels),
            training=dict(training),
            metrics=dict(data.get("metrics") or {}),
            parity=dict(data.get("parity") or {}),
            source=dict(data.get("source") or {}),
            about=dict(data.get("about") or {}),
            calibration=dict(calibration),
            created=str(data.get("created", "")),
        )


def calibration_problem(calibration: Any) -> str | None:
    """What is wrong with a card's ``calibration`` (None: nothing).

    ``{"source": str, "sizes": {"native" | "PX": {"n": int, "confusion": C×C counts (rows
    true, columns predicted), "mean_probs": C×C (row i: the mean probabilities of class i's
    faces), and optionally "temperature" (> 0) with "bias" (C numbers): the bias-corrected
    temperature scaling}}}``, measured on labelled faces the model was not trained on.
    """
    c = len(LABELS)
    if not isinstance(calibration, dict) or not isinstance(calibration.get("sizes"), dict):
        return "must be an object with a 'sizes' object"
    if not calibration["sizes"]:
        return "sizes is empty"
    for key, size in calibration["sizes"].items():
        if key != "native" and not (key.isdigit() and int(key) > 0):
            return f"size {key!r} is neither 'native' nor a face width in px"
        if not isinstance(size, dict):
            return f"size {key}: not an object"
        try:
            confusion = np.array(size["confusion"], float)
            mean_probs = np.array(size["mean_probs"], float)
            n = size["n"]
        except (KeyError, TypeError, ValueError) as exc:
            return f"size {key}: needs n, confusion and mean_probs ({exc})"
        if confusion.shape != (c, c) or mean_probs.shape != (c, c):
            return f"size {key}: confusion and mean_probs must be {c}x{c}"
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            return f"size {key}: n must be a count >= 1"
        if (confusion < 0).any() or (confusion != np.round(confusion)).any():
            return f"size {key}: confusion must hold counts"
        if int(confusion.sum()) != n:
            return f"size {key}: confusion sums to {int(confusion.sum())}, not n = {n}"
        seen = confusion.sum(axis=1) > 0
        rows = mean_probs.sum(axis=1)
        if (mean_probs < 0).any() or not np.allclose(rows[seen], 1.0, atol=0.01):
            return f"size {key}: each mean_probs row of a seen class must be probabilities"
        if ("temperature" in size) != ("bias" in size):
            return f"size {key}: temperature and bias come together"
        if "temperature" in size:
            t, bias = size["temperature"], size["bias"]
            if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t < 1e3:
                return f"size {key}: temperature must be a number in (0, 1000)"
            if not (
                isinstance(bias, list)
                and len(bias) == c
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bias)
                and np.isfinite(bias).all()
            ):
                return f"size {key}: bias must be {c} finite numbers"
    return None


def _is_quant(q: dict) -> bool:
    scale, zp = q.get("scale"), q.get("zero_point")
    return (
        isinstance(scale, (int, float))
        and scale > 0
        and isinstance(zp, int)
        and not isinstance(zp, bool)
    )


def _is_prior(prior: Any) -> bool:
    if not isinstance(prior, dict) or set(prior) != set(LABELS):
        return False
    values = list(prior.values())
    return (
        all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in values)
        and sum(values) > 0
    )


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_card(card: ModelCard, path: str | os.PathLike) -> None:
    """Write ``card`` as JSON, atomically."""
    atomic.write_text(path, json.dumps(card.to_dict(), indent=2, sort_keys=False) + "\n")


def read_card(path: str | os.PathLike) -> ModelCard:
    """Load and validate a card file (no model check: see :func:`load_for_model`)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CardError(f"{path}: model card not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CardError(f"{path}: cannot read model card ({exc})") from None
    return ModelCard.from_dict(data, where=str(path))


def card_path_for(model_path: str | os.PathLike) -> Path:
    """The card of a model: ``MODEL.json`` beside it, else ``model_card.json`` in its folder."""
    model_path = Path(model_path)
    for candidate in (model_path.with_suffix(".json"), model_path.parent / "model_card.json"):
        if candidate.is_file():
            return candidate
    raise CardError(
        f"{model_path}: no model card beside it (looked for {model_path.with_suffix('.json').name}"
        " and model_card.json)"
    )


def load_for_model(model_path: str | os.PathLike, card_path: str | os.PathLike | None = None):
    """Load the card of ``model_path`` and check that it describes exactly this file."""
    model_path = Path(model_path)
    if not model_path.is_file():
        raise CardError(f"{model_path}: model file not found")
    card = read_card(card_path or card_path_for(model_path))
    actual = sha256_file(model_path)
    if actual != card.sha256:
        raise CardError(
            f"{model_path}: sha256 {actual[:12]}… does not match its model card "
            f"({card.sha256[:12]}…); the model and card belong to different conversions"
        )
    return card
