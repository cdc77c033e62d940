"""Benchmark fer-train: training throughput (images/s) of the ResNet50 classifier.

Random pixels and labels, the real model (preprocessing in the graph; augmentation runs on the
host, see bench_train_input.py), on the Keras backend KERAS_BACKEND names, the
fine-tuning stage (conv5 unfrozen, BatchNorm frozen) and the from-scratch setting (all
trainable). A few timed batches after one warm-up batch per setting; prints one JSON object.

    python bench/bench_train.py [--sizes 96 224] [--batch 16] [--batches 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def throughput(size: int, batch: int, batches: int, stage: str) -> float:
    import keras

    from fer_train import model as model_lib

    model = model_lib.build_model(size, "none")
    if stage == "fine-tune":
        model_lib.unfreeze_top(model)
    else:
        model_lib.unfreeze_all(model)
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="sparse_categorical_crossentropy"
    )
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (batch, size, size, 3)).astype(np.float32)
    y = rng.integers(0, 7, batch)
    model.train_on_batch(x, y)  # build and trace
    start = time.perf_counter()
    for _ in range(batches):
        model.train_on_batch(x, y)
    return batch * batches / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[96, 224])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--batches", type=int, default=3)
    args = parser.parse_args()
    import keras

    from fer_train.devices import backend, find_accelerators

    results = {
        f"{stage}@{size}": round(throughput(size, args.batch, args.batches, stage), 2)
        for size in args.sizes
        for stage in ("fine-tune", "scratch")
    }
    print(
        json.dumps(
            {
                "benchmark": "fer-train throughput",
                "unit": "images/s",
                "batch": args.batch,
                "timed_batches": args.batches,
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "gpus": len(find_accelerators(backend()).names),
                "backend": backend(),
                "keras": keras.__version__,
                "images_per_s": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
