"""Benchmark fer-train's input pipeline against its training step, per Keras backend.

For each backend (one process each, as KERAS_BACKEND is read at import):
- input pipeline alone: images/s of augmented, class-weighted batches
  (:class:`fer_train.input_pipeline.Batches` with the default augmentation, low resolution included)
  drawn through Keras' own PyDataset reader with ``--workers`` threads, as ``model.fit`` gets
  them, without a model;
- training step: images/s of ``train_on_batch`` of the from-scratch ResNet50 (all layers
  trainable, SGD) on one batch, after one warm-up step (tracing, compiling).
The pipeline should be at least 3x the training step, so that it is never what a GPU waits on.
Prints one JSON object.

    python bench/bench_train_input.py [--size 96] [--batch 256] [--backends jax torch ...]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

PACKAGES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def face_like(n: int, size: int, seed: int = 0) -> np.ndarray:
    """Smooth random uint8 images (JPEG and resizing cost as on real faces, not on noise)."""
    import cv2

    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (n, 12, 12, 3), dtype=np.uint8)
    return np.stack([cv2.resize(s, (size, size), interpolation=cv2.INTER_CUBIC) for s in small])


def pipeline_rate(size: int, batch: int, batches: int, workers: int) -> float:
    from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter

    from fer_train.augment import Augment
    from fer_train.input_pipeline import Batches

    n = batch * batches
    images, labels = face_like(n, size), np.arange(n) % 7
    data = Batches(
        images,
        labels,
        batch,
        class_weights=np.ones(7),
        augment=Augment(),
        shuffle=True,
        workers=workers,
    )
    adapter = PyDatasetAdapter(data, shuffle=False)
    adapter.on_epoch_begin()
    start = time.perf_counter()
    seen = sum(len(x) for x, _, _ in adapter.get_numpy_iterator())
    seconds = time.perf_counter() - start
    adapter.on_epoch_end()
    return seen / seconds


def train_rate(size: int, batch: int, steps: int) -> float:
    import keras

    from fer_train import model as model_lib

    model = model_lib.build_model(size, "none")
    model_lib.unfreeze_all(model)
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True),
        loss="sparse_categorical_crossentropy",
    )
    x = face_like(batch, size).astype(np.float32)
    y = np.arange(batch) % 7
    w = np.ones(batch, np.float32)
    model.train_on_batch(x, y, sample_weight=w)  # build, trace, compile
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y, sample_weight=w)
    return batch * steps / (time.perf_counter() - start)


def one_backend(args) -> dict:
    import keras

    from fer_train.devices import backend, choose_policy, find_accelerators

    name = backend()
    found = find_accelerators(name)
    pipeline = {
        str(w): round(pipeline_rate(args.size, args.batch, args.input_batches, w), 1)
        for w in sorted({1, args.workers})
    }
    train = round(train_rate(args.size, args.batch, args.train_steps), 2)
    best = pipeline[str(args.workers)]
    return {
        "keras": keras.__version__,
        "gpus": len(found.names),
        "policy_auto": choose_policy(name, found),
        "pipeline_images_per_s_by_workers": pipeline,
        "train_step_images_per_s": train,
        "pipeline_over_train": round(best / train, 1),
        "target_3x_met": best >= 3 * train,
    }


def main() -> None:
    from fer_train.input_pipeline import default_workers

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--input-batches", type=int, default=8)
    parser.add_argument("--train-steps", type=int, default=2)
    parser.add_argument("--workers", type=int, default=default_workers())
    installed = [b for b, p in PACKAGES.items() if importlib.util.find_spec(p)]
    parser.add_argument("--backends", nargs="+", choices=list(PACKAGES), default=installed)
    parser.add_argument("--one-backend", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_backend:
        print(json.dumps(one_backend(args)))
        return
    results = {}
    for name in args.backends:
        cmd = [sys.executable, __file__, "--one-backend", *sys.argv[1:]]
        env = {**os.environ, "KERAS_BACKEND": name}
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            results[name] = {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
            continue
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        json.dumps(
            {
                "benchmark": "fer-train input pipeline vs training step",
                "unit": "images/s",
                "image_size": args.size,
                "batch": args.batch,
                "input_batches": args.input_batches,
                "timed_train_steps": args.train_steps,
                "workers": args.workers,
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "backends": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
