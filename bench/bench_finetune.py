"""Benchmark fine-tuning the default model on a school's own labelled face photos (CPU).

Writes a ``folder=`` dataset (``<root>/<label>/*.png``) of varied copies of skimage's astronaut
(public domain; labels arbitrary: this measures cost, not accuracy), then runs the real
``fer-train fit --weights default`` workflow on it (face detection with YuNet when
``../shared/models/yunet-test.onnx`` is there, else the auto detector). Prints one JSON object:
seconds per epoch of each stage, images/s, peak RSS and total time.

    python bench/bench_finetune.py [--per-class 43] [--epochs 3] [--fine-tune-epochs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
YUNET = REPO.parent / "shared" / "models" / "yunet-test.onnx"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=43, help="images per label (7 labels)")
    parser.add_argument("--epochs", type=int, default=3, help="head stage epochs")
    parser.add_argument("--fine-tune-epochs", type=int, default=3, help="conv5 stage epochs")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    from skimage import data

    from fer_train.fit import FitParams
    from fer_train.synth import write_face_folder
    from fer_train.workflow import DatasetOptions, fit_run

    head = np.ascontiguousarray(data.astronaut()[:, :, ::-1][10:230, 120:330])
    with tempfile.TemporaryDirectory(prefix="fer-bench-finetune-") as tmp:
        cache = Path(tmp) / "cache"  # a fresh cache: preparation counts in the total
        prep = DatasetOptions(cache_dir=cache, detector="yunet", face_model=str(YUNET))
        prep = prep if YUNET.is_file() else DatasetOptions(cache_dir=cache)
        faces = write_face_folder(Path(tmp) / "faces", head, per_class=args.per_class)
        params = FitParams(
            image_size=None,
            weights="default",
            epochs=args.epochs,
            fine_tune_epochs=args.fine_tune_epochs,
            batch_size=args.batch_size,
            verbose=0,
        )
        out = Path(tmp) / "run"
        started = time.perf_counter()
        fit_run([("folder", faces)], out, params, prep)
        total = time.perf_counter() - started
        run = json.loads((out / "run.json").read_text())
        stages = json.loads((out / "history.json").read_text())["stages"]
    import tensorflow as tf

    n_train = run["splits"]["train"]
    per_stage = {}
    for stage in stages:
        seconds = stage["epoch_seconds"]
        steady = statistics.median(seconds[1:] if len(seconds) > 1 else seconds)
        per_stage[stage["stage"]] = {
            "epoch_seconds": seconds,
            "median_epoch_seconds_after_first": round(steady, 2),
            "train_images_per_s": round(n_train / steady, 1),
        }
    print(
        json.dumps(
            {
                "benchmark": "fer-train fine-tune from the default model",
                "command": "fit --weights default --data folder=... "
                f"--epochs {args.epochs} --fine-tune-epochs {args.fine_tune_epochs} "
                f"--batch-size {args.batch_size}",
                "images": {"written": 7 * args.per_class, **run["splits"]},
                "detector": prep.detector,
                "stages": per_stage,
                "total_seconds": round(total, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "gpus": len(tf.config.list_physical_devices("GPU")),
                "tensorflow": tf.__version__,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
