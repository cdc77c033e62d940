"""A tiny Keras expression classifier converted to TFLite, for tests that need a real model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_edge.contract.labels import LABELS


def build_tiny_keras(size: int = 32, seed: int = 0):
    """Input float32 RGB 0..255 (N, size, size, 3) → small conv net → softmax over 7 classes."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((size, size, 3), dtype="float32")
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0)(inputs)
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(x)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(len(LABELS), activation="softmax")(x)
    return keras.Model(inputs, outputs, name="tiny_fer")


def make_tiny_tflite(out_dir, size: int = 32, mode: str = "int8") -> Path:
    """Build and convert a tiny classifier into ``out_dir/tiny_<mode>.tflite`` (card beside it)."""
    from fer_convert.quantize import convert

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    calibration = rng.integers(0, 256, (16, size, size, 3), dtype=np.uint8)
    out = out_dir / f"tiny_{mode}.tflite"
    convert(build_tiny_keras(size), mode, out, calibration if mode == "int8" else None)
    return out


#: One RGB colour per class: a trivially separable synthetic expression set.
_PALETTE = np.array(
    [
        [200, 40, 40],
        [40, 200, 40],
        [40, 40, 200],
        [200, 200, 40],
        [200, 40, 200],
        [40, 200, 200],
        [200, 200, 200],
    ],
    dtype=np.float32,
)


def separable_set(n_per_class: int = 12, size: int = 32, seed: int = 0):
    """(images RGB uint8 (N, size, size, 3), labels int64): class k is tinted with colour k."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(LABELS)), n_per_class)
    noise = rng.normal(0, 25, (len(labels), size, size, 3))
    images = np.clip(_PALETTE[labels][:, None, None, :] + noise, 0, 255).astype(np.uint8)
    order = rng.permutation(len(labels))
    return images[order], labels[order].astype(np.int64)


def train_tiny_keras(size: int = 32, epochs: int = 15, seed: int = 0):
    """The tiny classifier fitted to :func:`separable_set` (confident, near-perfect)."""
    import keras

    model = build_tiny_keras(size, seed)
    images, labels = separable_set(24, size, seed)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy")
    model.fit(images.astype(np.float32), labels, epochs=epochs, batch_size=32, verbose=0)
    return model
