"""Benchmark the daemon's pipeline: YuNet + int8 ResNet50 (112 px) on a 640x360 15-face clip.

Step 1 (a subprocess with TensorFlow, skipped with --model): build a ResNet50 (random weights,
preprocessing in the graph) and convert it to full int8 with fer_convert. Step 2 (a clean
subprocess, no TensorFlow): ``fer-edge bench --json`` on a generated clip of tiled astronaut
faces. Prints one JSON object with the figures and the targets. Usage:

    python bench/bench_daemon.py [--size 112] [--frames 300] [--threads 2] [--model M.tflite]
                                 [--reclassify SECONDS]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TARGETS = {"fps": 30.0, "classify_vs_raw_ratio": 1.2, "peak_rss_mb": 250.0}

BUILD = """
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, {bench!r})
import numpy as np
from bench_convert import build_resnet50
from fer_convert.quantize import convert
size = {size}
rng = np.random.default_rng(0)
convert(build_resnet50(size), "int8", {out!r}, rng.integers(0, 256, (16, size, size, 3), np.uint8))
"""


def write_clip(path: Path, frames: int = 150, fps: int = 15) -> int:
    """A 640x360 MJPG clip of 3x5 astronaut heads (80 px) drifting sideways; returns faces."""
    import cv2
    from skimage import data

    head = np.ascontiguousarray(data.astronaut()[10:230, 120:330, ::-1])
    tile = cv2.resize(head, (80, 80), interpolation=cv2.INTER_AREA)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (640, 360))
    for f in range(frames):
        frame = np.full((360, 640, 3), 110, np.uint8)
        for r in range(3):
            for c in range(5):
                x, y = 30 + c * 120 + int(6 * np.sin(0.4 * f / fps + r + c)), 20 + r * 115
                frame[y : y + 80, x : x + 80] = tile
        writer.write(frame)
    writer.release()
    return 15


def face_model() -> str:
    env = os.environ.get("FER_EDGE_FACE_MODEL")
    if env:
        return env
    test_model = REPO.parent / "shared" / "models" / "yunet-test.onnx"
    if test_model.is_file():
        return str(test_model)
    raise SystemExit("no YuNet model: set FER_EDGE_FACE_MODEL (see `fer-edge models path`)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", type=Path, default=None, help="an existing int8 .tflite")
    parser.add_argument(
        "--reclassify", type=float, default=0.0, help="seconds between classifications of a track"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fer-bench-daemon-") as tmp:
        tmp = Path(tmp)
        model = args.model
        if model is None:
            model = tmp / f"resnet50_int8_{args.size}.tflite"
            code = BUILD.format(bench=str(REPO / "bench"), size=args.size, out=str(model))
            subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
        clip = tmp / "classroom.avi"
        faces = write_clip(clip)
        cmd = [str(Path(sys.executable).parent / "fer-edge"), "bench", "--model", str(model)]
        cmd += ["--camera", str(clip), "--max-frames", str(args.frames), "--json"]
        cmd += ["--threads", str(args.threads), "--face-model", face_model()]
        cmd += ["--reclassify", str(args.reclassify)]
        done = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=REPO)
        result = json.loads(done.stdout)
    ratio = (result.get("batch") or {}).get("ratio")
    report = {
        "benchmark": "daemon pipeline (fer-edge bench)",
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        "clip": {"size": "640x360", "faces_placed": faces},
        "model": {"arch": "ResNet50", "mode": "int8", "input": args.size},
        "result": result,
        "targets": TARGETS,
        "meets": {
            "fps": result["fps"] >= TARGETS["fps"],
            "classify_vs_raw_ratio": ratio is not None
            and ratio <= TARGETS["classify_vs_raw_ratio"],
            "peak_rss_mb": result["peak_rss_mb"] < TARGETS["peak_rss_mb"],
            "no_tensorflow": not result["tensorflow_imported"],
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
