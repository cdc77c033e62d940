"""Benchmark fer-train's memory: peak RSS of ``fer-train fit`` against the size of the crops.

Writes a synthetic FER2013 CSV (``--per-class`` images per class, real Kaggle format), then
runs ``fer-train fit --epochs 0 --fine-tune-epochs 0`` in a subprocess twice (preparing, then
from the cache): everything a run holds in memory except the optimizer's. Prints one JSON object.

    python bench/bench_train_memory.py [--per-class 1000] [--size 224]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def peak_rss_gb(cmd: list[str]) -> tuple[float, float]:
    """(peak RSS in GB, wall seconds) of ``cmd`` run in a fresh child process."""
    start = time.perf_counter()
    code = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
        "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code, *cmd], check=True, capture_output=True)
    return int(out.stdout.split()[-1]) / 1e6, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=1000)
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()
    from fer_train.synth import write_fer2013_csv

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        csv_path = write_fer2013_csv(root / "fer2013" / "fer2013.csv", per_class=args.per_class)
        n = 7 * args.per_class
        results = {}
        for label in ("prepare", "cached"):
            cmd = [sys.executable, "-m", "fer_train.cli", "fit", "--data", f"fer2013={csv_path}",
                   "--out", str(root / f"run-{label}"), "--image-size", str(args.size),
                   "--weights", "none", "--epochs", "0", "--fine-tune-epochs", "0",
                   "--cache-dir", str(root / "cache")]  # fmt: skip
            peak, seconds = peak_rss_gb(cmd)
            results[label] = {"peak_rss_gb": round(peak, 2), "seconds": round(seconds, 1)}
    crops_gb = n * args.size**2 * 3 / 1e9
    for entry in results.values():
        entry["peak_over_crops"] = round(entry["peak_rss_gb"] / crops_gb, 2)
    print(json.dumps({"images": n, "size": args.size, "crops_gb": round(crops_gb, 2), **results},
                     indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
