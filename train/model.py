"""The classifier: ResNet50 with the ImageNet "caffe" preprocessing inside the graph.

The model takes plain RGB pixels 0..255 (float32), the contract of
:mod:`fer_edge.contract.preprocess`.
Preprocessing is a frozen 1x1 convolution (RGB→BGR permutation, bias = -ImageNet mean) and the
augmentation layers are built-in Keras layers that are identity at inference, so the saved
``.keras`` loads in safe mode and converts cleanly to int8 TFLite.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import numpy as np

from fer_edge.contract.errors import ConfigError, FerError
from fer_edge.contract.labels import LABELS
from fer_edge.contract.preprocess import IMAGENET_CAFFE_MEAN_BGR

log = logging.getLogger(__name__)

WEIGHTS_FILE = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
MIN_SIZE = 32


def keras():
    """Keras, imported with its backend's start-up chatter routed to our log (once)."""
    if "keras" not in sys.modules:
        from fer_edge.classify.runtime import native_stderr_to_log

        with native_stderr_to_log():
            import keras as _keras
    import keras as _keras

    return _keras


def weights_cache_hint() -> str:
    home = os.environ.get("KERAS_HOME")
    where = f"~/.keras/models/{WEIGHTS_FILE}"
    if home:
        where += f" (here: {Path(home) / 'models' / WEIGHTS_FILE})"
    return where


def caffe_preprocess_layer():
    """A frozen 1x1 Conv2D: RGB→BGR permutation and minus the ImageNet BGR mean."""
    k = keras()
    kernel = np.zeros((1, 1, 3, 3), np.float32)
    for out_channel, in_channel in enumerate((2, 1, 0)):
        kernel[0, 0, in_channel, out_channel] = 1.0
    bias = -np.asarray(IMAGENET_CAFFE_MEAN_BGR, np.float32)
    layer = k.layers.Conv2D(
        3,
        1,
        name="caffe_preprocess",
        dtype="float32",
        kernel_initializer=k.initializers.Constant(kernel),
        bias_initializer=k.initializers.Constant(bias),
    )
    layer.trainable = False
    return layer


def augmentation(seed: int = 0):
    """Training-only augmentation: flip, small shifts/rotation/zoom, brightness/contrast."""
    k = keras()
    return k.Sequential(
        [
            k.layers.RandomFlip("horizontal", seed=seed),
            k.layers.RandomRotation(0.05, fill_mode="nearest", seed=seed),
            k.layers.RandomTranslation(0.08, 0.08, fill_mode="nearest", seed=seed),
            k.layers.RandomZoom(0.1, fill_mode="nearest", seed=seed),
            k.layers.RandomBrightness(0.15, value_range=(0, 255), seed=seed),
            k.layers.RandomContrast(0.15, seed=seed),
        ],
        name="augment",
    )


def build_model(image_size: int = 224, weights: str = "imagenet", dropout: float = 0.3, seed=0):
    """ResNet50 (no top) + GAP + dropout + Dense(7, softmax); ``weights``: imagenet|none|PATH."""
    k = keras()
    if image_size < MIN_SIZE:
        raise ConfigError(f"--image-size {image_size} is too small; ResNet50 needs >= {MIN_SIZE}")
    base_weights = None if weights == "none" else weights
    if base_weights not in (None, "imagenet") and not Path(base_weights).is_file():
        raise ConfigError(f"{base_weights}: weights file not found")
    try:
        base = k.applications.ResNet50(
            include_top=False, weights=base_weights, input_shape=(image_size, image_size, 3)
        )
    except Exception as exc:  # noqa: BLE001 - Keras raises a bare Exception on a failed fetch
        if base_weights == "imagenet":
            raise FerError(
                f"cannot get the ImageNet ResNet50 weights ({_first_line(exc)}); offline, put "
                f"{WEIGHTS_FILE} into {weights_cache_hint()} or pass --weights PATH "
                "(or --weights none to train from scratch)"
            ) from None
        raise ConfigError(
            f"{base_weights}: not usable ResNet50 weights ({_first_line(exc)})"
        ) from None
    if base_weights is None:
        zero_init_residuals(base)
    inputs = k.Input((image_size, image_size, 3), name="pixels", dtype="float32")
    x = augmentation(seed)(inputs)
    x = caffe_preprocess_layer()(x)
    x = base(x)
    x = k.layers.GlobalAveragePooling2D(name="pool")(x)
    x = k.layers.Dropout(dropout, name="dropout", seed=seed)(x)
    outputs = k.layers.Dense(len(LABELS), activation="softmax", dtype="float32", name="expression")(
        x
    )
    return k.Model(inputs, outputs, name="fer_resnet50")


def zero_init_residuals(base) -> int:
    """Zero the last BatchNorm scale of every residual branch (Goyal et al. 2017).

    Each block then starts as its shortcut, which makes a randomly initialised ResNet50 train
    stably from the first steps; returns the number of blocks changed.
    """
    count = 0
    for layer in base.layers:
        if layer.name.endswith("_3_bn") and getattr(layer, "gamma", None) is not None:
            layer.gamma.assign(np.zeros(layer.gamma.shape, np.float32))
            count += 1
    return count


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def backbone(model):
    return model.get_layer("resnet50")


def freeze_base(model) -> None:
    """Stage 1: only the head trains."""
    backbone(model).trainable = False


def unfreeze_top(model, prefix: str = "conv5_") -> int:
    """Stage 2: the top blocks train, BatchNormalization stays frozen; returns layers unfrozen."""
    k = keras()
    base = backbone(model)
    base.trainable = True
    count = 0
    for layer in base.layers:
        top = layer.name.startswith(prefix)
        layer.trainable = top and not isinstance(layer, k.layers.BatchNormalization)
        count += int(layer.trainable)
    return count


def unfreeze_all(model) -> None:
    """From scratch: everything (BatchNormalization included) trains."""
    base = backbone(model)
    base.trainable = True
    for layer in base.layers:
        layer.trainable = True
    model.get_layer("caffe_preprocess").trainable = False


def _float32_policies(config):
    """``config`` with every mixed-precision dtype policy replaced by float32 (recursively)."""
    if isinstance(config, list):
        return [_float32_policies(item) for item in config]
    if not isinstance(config, dict):
        return config
    if config.get("class_name") == "DTypePolicy":
        name = config.get("config", {}).get("name", "")
        if name.startswith("mixed_"):
            return {**config, "config": {**config["config"], "name": "float32"}}
        return config
    return {
        key: "float32" if key == "dtype" and str(value).startswith("mixed_") else
        _float32_policies(value)
        for key, value in config.items()
    }  # fmt: skip


def float32_copy(model):
    """An uncompiled float32 copy: no optimizer state, no mixed-precision layers.

    A model trained with mixed precision (on a GPU) computes in float16; TFLite's int8
    converter cannot quantise that graph, and the device contract is float32 in, float32 out.
    """
    k = keras()
    clone = k.Model.from_config(_float32_policies(model.get_config()))
    clone.set_weights(model.get_weights())
    return clone


def is_mixed_precision(model) -> bool:
    return any(layer.dtype_policy.name.startswith("mixed_") for layer in _all_layers(model))


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)


def save_model(model, path: Path) -> None:
    """Save a float32 copy (no optimizer state, see :func:`float32_copy`) atomically."""
    from fer_edge.contract import atomic

    clone = float32_copy(model)
    with atomic.atomic_path(path) as tmp:
        clone.save(tmp)


def load_model(path: Path):
    from fer_edge.contract.errors import ModelFileError

    k = keras()
    try:
        model = k.models.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for a bad archive
        raise ModelFileError(f"{path}: not a loadable Keras model ({_first_line(exc)})") from None
    if is_mixed_precision(model):
        log.info("%s: saved with mixed precision; using a float32 copy", path)
        model = float32_copy(model)
    return model
