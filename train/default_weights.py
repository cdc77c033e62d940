"""The shipped default model in float: packed small, restored into fer_train's float32 model.

The packed file is an ``.npz`` holding every weight of ``build_model(96, "none")`` under its Keras
path (``conv1_conv/kernel``): convolution and dense kernels in float16, everything else (biases,
BatchNorm gamma/beta/moving statistics, the frozen preprocessing convolution) in float32 —
BatchNorm variances overflow float16. A manifest beside it records the weights' names, shapes and
dtypes, the packed file's sha256 and the source ``.keras`` it came from. ``scripts/
pack_default_float.py`` writes both; :func:`load_default` restores the model.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
from pathlib import Path

import numpy as np

from fer_edge.contract import atomic
from fer_edge.contract.card import sha256_file
from fer_edge.contract.errors import ModelFileError
from fer_edge.contract.labels import LABELS
from fer_edge.contract.recipe import CropRecipe

log = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parent / "data"
PACKED = DATA / "fer-resnet50-96-float.npz"
MANIFEST = PACKED.with_suffix(".json")
SCHEMA = "fer-train/packed-float-model"
#: Weights stored as float16: kernels of the trainable convolutions and the dense head.
HALF = "kernel"
#: A fixed zip timestamp, so that packing the same model twice gives the same bytes.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def packed_dtype(path: str) -> np.dtype:
    """float16 for a kernel (except the frozen preprocessing convolution), else float32."""
    layer, name = path.rsplit("/", 1)
    half = name == HALF and layer != "caffe_preprocess"
    return np.dtype(np.float16 if half else np.float32)


def pack(keras_path: Path, card_path: Path, out: Path = PACKED) -> dict:
    """Pack the float model ``keras_path`` (with its card) into ``out`` and its manifest."""
    from fer_edge.contract.card import read_card

    from . import model as model_lib

    card = read_card(card_path)
    model = model_lib.load_model(keras_path)
    size = int(model.input_shape[1])
    if card.input_size != size:
        raise ModelFileError(
            f"{keras_path}: input {size} px but {card_path} says {card.input_size}"
        )
    reference = model_lib.build_model(size, "none")
    expected = [(w.path, tuple(w.shape)) for w in reference.weights]
    found = [(w.path, tuple(w.shape)) for w in model.weights]
    if found != expected:
        raise ModelFileError(f"{keras_path}: its weights differ from build_model({size}, 'none')")
    buffer, entries, worst = io.BytesIO(), [], 0.0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for weight in model.weights:
            value = np.asarray(weight, np.float32)
            dtype = packed_dtype(weight.path)
            with np.errstate(over="ignore"):  # an overflow is refused just below
                packed = value.astype(dtype)
            if not np.isfinite(packed).all():
                raise ModelFileError(
                    f"{keras_path}: {weight.path} does not fit {dtype.name} (inf or nan)"
                )
            worst = max(worst, float(np.abs(packed.astype(np.float32) - value).max(initial=0)))
            info = zipfile.ZipInfo(weight.path + ".npy", date_time=ZIP_TIME)
            with archive.open(info, "w") as fh:
                np.lib.format.write_array(fh, packed, allow_pickle=False)
            entries.append([weight.path, dtype.name, list(packed.shape)])
    data = buffer.getvalue()
    manifest = {
        "schema": SCHEMA,
        "schema_version": 1,
        "file": out.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "image_size": size,
        "labels": list(card.labels),
        "crop": card.crop.to_dict(),
        "source": {
            "keras_model": keras_path.name,
            "keras_sha256": sha256_file(keras_path),
            "card": card_path.name,
            "converted_model": card.model_file,
            "converted_sha256": card.sha256,
        },
        "max_abs_cast_error": worst,
        "weights": entries,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(out, data)
    atomic.write_text(out.with_suffix(".json"), _dump(manifest))
    return manifest


def _dump(manifest: dict) -> str:
    """Indented JSON with one line per weight."""
    text = json.dumps({**manifest, "weights": []}, indent=2)
    rows = ",\n".join("    " + json.dumps(entry) for entry in manifest["weights"])
    return text.replace('"weights": []', '"weights": [\n' + rows + "\n  ]") + "\n"


def read_manifest(manifest_path: Path | None = None) -> dict:
    """The manifest of the packed default model; a missing or broken one is a one-line error."""
    manifest_path = Path(manifest_path or MANIFEST)
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(
            f"{manifest_path}: the default model's manifest is missing (reinstall fer-edge)"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{manifest_path}: unreadable manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        raise ModelFileError(f"{manifest_path}: not a {SCHEMA} manifest")
    if manifest.get("labels") != list(LABELS):
        raise ModelFileError(f"{manifest_path}: labels differ from the contract's {list(LABELS)}")
    return manifest


def default_crop(manifest: dict) -> CropRecipe:
    return CropRecipe.from_dict(manifest["crop"])


def check_packed(manifest: dict, manifest_path: Path | None = None) -> Path:
    """The packed weights file of ``manifest``, present and matching its sha256."""
    packed = Path(manifest_path or MANIFEST).with_name(manifest["file"])
    if not packed.is_file():
        raise ModelFileError(f"{packed}: the default model's weights are missing (reinstall)")
    if sha256_file(packed) != manifest["sha256"]:
        raise ModelFileError(f"{packed}: sha256 does not match its manifest; the file is corrupt")
    return packed


def load_default(manifest_path: Path | None = None):
    """``build_model(96, "none")`` holding the default model's weights (float32)."""
    from . import model as model_lib

    manifest_path = Path(manifest_path or MANIFEST)
    manifest = read_manifest(manifest_path)
    packed = check_packed(manifest, manifest_path)
    model = model_lib.build_model(int(manifest["image_size"]), "none")
    try:
        with np.load(packed, allow_pickle=False) as arrays:
            values = [arrays[name] for name, _, _ in manifest["weights"]]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise ModelFileError(f"{packed}: unreadable weights ({exc})") from None
    names = [w.path for w in model.weights]
    if names != [name for name, _, _ in manifest["weights"]]:
        raise ModelFileError(f"{packed}: its weights do not fit build_model's")
    model.set_weights([v.astype(np.float32) for v in values])
    log.info("default model restored from %s", packed)
    return model
