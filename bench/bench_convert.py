"""Benchmark fer-convert: size, conversion time and per-face latency of each TFLite mode.

A ResNet50 (random weights, 7-class head, preprocessing inside the graph) is converted to
float32, float16 and int8; each is run through the device runtime (fer_edge.runtime.Classifier)
at batch 1 and 8. Prints one JSON object. Usage:

    python bench/bench_convert.py [--size 112] [--samples 50] [--repeats 30] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def build_resnet50(size: int):
    """fer_train's builder when it has one, else the same architecture built here."""
    try:
        from fer_train.model import build_model
    except ImportError:
        build_model = None
    if build_model is not None:
        return build_model(image_size=size, weights="none")
    import keras

    from fer_edge.preprocess import IMAGENET_CAFFE_MEAN_BGR

    inputs = keras.Input((size, size, 3), dtype="float32")
    # "caffe" preprocessing as a fixed 1x1 convolution: RGB→BGR, minus the ImageNet mean
    to_bgr = keras.layers.Conv2D(3, 1, trainable=False, name="caffe_preprocess")
    x = to_bgr(inputs)
    to_bgr.set_weights(
        [np.eye(3, dtype=np.float32)[::-1].reshape(1, 1, 3, 3), -np.array(IMAGENET_CAFFE_MEAN_BGR)]
    )
    base = keras.applications.ResNet50(include_top=False, weights=None, input_tensor=x)
    x = keras.layers.GlobalAveragePooling2D()(base.output)
    x = keras.layers.Dropout(0.3)(x)
    outputs = keras.layers.Dense(7, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="fer_resnet50")


def latency_ms(classifier, images: np.ndarray, batch: int, repeats: int) -> float:
    """Median milliseconds per face over ``repeats`` calls of ``batch`` faces."""
    crops = images[:batch]
    for _ in range(3):
        classifier.predict(crops)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        classifier.predict(crops)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000 / batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--samples", type=int, default=50, help="int8 calibration images")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None, help="folder to keep the models in")
    args = parser.parse_args()

    from fer_convert.quantize import convert
    from fer_edge.runtime import Classifier, select_runtime

    model = build_resnet50(args.size)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (max(args.samples, 8), args.size, args.size, 3), np.uint8)
    results: dict = {}
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.keep or Path(scratch)
        keras_path = Path(tmp) / "model.keras"
        model.save(keras_path)
        for mode in ("float32", "float16", "int8"):
            out = Path(tmp) / f"model_{mode}.tflite"
            start = time.perf_counter()
            convert(model, mode, out, images[: args.samples] if mode == "int8" else None)
            seconds = time.perf_counter() - start
            classifier = Classifier(out, threads=args.threads)
            results[mode] = {
                "bytes": out.stat().st_size,
                "conversion_s": round(seconds, 2),
                "ms_per_face_batch1": round(latency_ms(classifier, images, 1, args.repeats), 3),
                "ms_per_face_batch8": round(latency_ms(classifier, images, 8, args.repeats), 3),
            }
        keras_bytes = keras_path.stat().st_size
    f32 = results["float32"]["bytes"]
    for entry in results.values():
        entry["size_ratio_vs_float32"] = round(entry["bytes"] / f32, 3)
        entry["speedup_batch1_vs_float32"] = round(
            results["float32"]["ms_per_face_batch1"] / entry["ms_per_face_batch1"], 2
        )
    runtime = select_runtime()
    report = {
        "benchmark": "fer-convert",
        "model": f"ResNet50 (weights=None, 7-class head), input {args.size}",
        "keras_bytes": keras_bytes,
        "calibration_samples": args.samples,
        "threads": args.threads,
        "runtime": f"{runtime.name} {runtime.version}",
        "machine": {
            "cpu_count": os.cpu_count(),
            "arch": platform.machine(),
            "python": platform.python_version(),
        },
        "modes": results,
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
