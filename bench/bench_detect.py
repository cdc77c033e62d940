"""Face detection benchmark: recall and precision per face size, per detector setting.

Scenes (bench/scenes.py, seeded): 640x360 real backgrounds from scikit-image with 15-40 copies of
the astronaut's face (public domain) 12-48 px wide, rotated ±30°, flipped, darkened, blurred,
noised, one in five partly covered; every face box is known. A detection matches a face at
IoU >= 0.3 (greedy by score); unmatched detections are false positives. Prints one JSON object
(or writes it to --out). Usage:

    python bench/bench_detect.py [--quick] [--scenes 40] [--out detect.json]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from bench_daemon import face_model  # noqa: E402
from benchjson import emit  # noqa: E402
from scenes import scene  # noqa: E402

from fer_edge.faces.detect import YuNetDetector  # noqa: E402
from fer_edge.faces.tiling import TiledDetector  # noqa: E402
from fer_edge.faces.tracker import iou  # noqa: E402

BANDS = ((12, 16), (16, 20), (20, 28), (28, 49))
TARGETS = {"recall_ge20": 0.90, "recall_12_20": 0.70, "precision": 0.95}


def settings(model: str) -> dict:
    """Name -> detector factory, for each setting compared."""

    def plain(score):
        return lambda: YuNetDetector(model, score_threshold=score)

    def tiled(min_face, score=0.6, tile=1280):
        return lambda: TiledDetector(lambda s: YuNetDetector(model, s), min_face, score, tile)

    return {
        "plain score=0.6 (before)": plain(0.6),
        "plain score=0.5": plain(0.5),
        "min_face=16 (x1.25)": tiled(16),
        "min_face=14 (x1.43)": tiled(14),
        "min_face=12 (x1.67)": tiled(12),
        "min_face=12 score=0.5": tiled(12, 0.5),
        "min_face=10 (x2)": tiled(10),
        "min_face=12, 640 px tiles": tiled(12, tile=640),
    }


def match(faces, truth) -> tuple[set[int], int]:
    """Indices of the true boxes found, and the number of false detections."""
    found: set[int] = set()
    false = 0
    for face in faces:  # highest score first
        best, overlap = -1, 0.0
        for i, box in enumerate(truth):
            o = iou(face.box, box)
            if i not in found and o > overlap:
                best, overlap = i, o
        if overlap >= 0.3:
            found.add(best)
        else:
            false += 1
    return found, false


def evaluate(make, frames) -> dict:
    detector = make()
    detector.detect(frames[0][0])  # warm-up: network set-up for this input size
    hits = {band: [0, 0] for band in BANDS}
    true_pos = false_pos = 0
    seconds = 0.0
    for frame, placed in frames:
        t0 = time.perf_counter()
        faces = detector.detect(frame)
        seconds += time.perf_counter() - t0
        truth = [p.box for p in placed]
        found, false = match(faces, truth)
        true_pos += len(found)
        false_pos += false
        for i, box in enumerate(truth):
            band = next(b for b in BANDS if b[0] <= box[2] < b[1])
            hits[band][0] += i in found
            hits[band][1] += 1

    def recall(bands):
        got = sum(hits[b][0] for b in bands)
        total = sum(hits[b][1] for b in bands)
        return round(got / total, 4) if total else None

    return {
        "recall_by_width_px": {f"{a}-{b - 1}": recall([(a, b)]) for a, b in BANDS},
        "faces_by_width_px": {f"{a}-{b - 1}": hits[(a, b)][1] for a, b in BANDS},
        "recall_12_20": recall(BANDS[:2]),
        "recall_ge20": recall(BANDS[2:]),
        "precision": round(true_pos / (true_pos + false_pos), 4) if true_pos else 0.0,
        "false_positives": false_pos,
        "ms_per_frame": round(seconds / len(frames) * 1e3, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="6 scenes, for CI")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    n = 6 if args.quick else args.scenes
    frames = [scene(seed) for seed in range(n)]
    model = face_model()
    load_before = os.getloadavg()
    results = {}
    for name, make in settings(model).items():
        result = evaluate(make, frames)
        result["meets"] = {
            key: result[key] is not None and result[key] >= target
            for key, target in TARGETS.items()
        }
        results[name] = result
    report = {
        "benchmark": "face detection recall/precision by face width (generated scenes)",
        "scenes": n,
        "faces": sum(len(p) for _, p in frames),
        "frame": "640x360",
        "face_model": Path(model).name,
        "match": "IoU >= 0.3",
        "targets": TARGETS,
        "settings": results,
    }
    emit(report, args.out, load_before)


if __name__ == "__main__":
    main()
