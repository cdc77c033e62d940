"""Benchmark fer-convert: size, conversion time and per-face latency of each TFLite mode.

fer-train's ResNet50 (random weights, 7-class head, preprocessing in the graph) is converted to
float32, float16 and int8; each is run through the device runtime
(fer_edge.classify.runtime.Classifier) at batch 1 and 8. Prints one JSON object. Usage:

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
    from fer_edge.classify.runtime import Classifier, select_runtime
    from fer_train.model import build_model

    model = build_model(image_size=args.size, weights="none")
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
    load_1min = os.getloadavg()[0]  # other processes on the CPU skew the latencies
    report = {
        "benchmark": "fer-convert",
        "model": f"fer_train.model.build_model ResNet50, weights none, input {args.size}",
        "keras_bytes": keras_bytes,
        "calibration_samples": args.samples,
        "threads": args.threads,
        "runtime": f"{runtime.name} {runtime.version}",
        "machine": {
            "cpu_count": os.cpu_count(),
            "arch": platform.machine(),
            "python": platform.python_version(),
            "load_avg_1min_at_end": round(load_1min, 2),
        },
        "modes": results,
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
