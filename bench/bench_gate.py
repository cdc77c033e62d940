"""Is the face-quality gate fair on real faces? Near-frontal photos of many people, any expression.

Reads the face datasets named on the command line (none is in the repository; see
../shared/DATA.md): JAFFE originals (``--jaffe DIR``, 10 women, 7 expressions), CK+48
(``--ck DIR``, 48 px crops of 100+ people, per-class folders) and FER+ (``--ferplus DIR``, a folder
with 48 px PNGs and ``label.csv``; majority label, ties and non-faces dropped). All are
near-frontal. Each face is enlarged (and padded, so the detector sees context) until it is about
``--face-px`` wide, YuNet finds it, and the gate's head pose is computed from YuNet's landmarks.

Reported per dataset: faces found, the share called "turned" and "down" (the target: at most 5 %
of near-frontal faces), the yaw and pitch percentiles, and for each class its share among all
faces and among the faces the pose test passes (the target: within 2 points). Nothing is written
but the JSON (``--out``). Without any dataset it says so and exits 0. Usage:

    python bench/bench_gate.py --jaffe ~/datasets/jaffe --ck ~/datasets/ck/CK+48 \
        --ferplus ~/datasets/ferplus/FER2013Test [--limit 1500] [--out gate.json]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from benchjson import emit  # noqa: E402

from fer_edge.faces.detect import YuNetDetector  # noqa: E402
from fer_edge.faces.modelfiles import find_yunet  # noqa: E402
from fer_edge.faces.quality import QualityGate, head_pose  # noqa: E402

JAFFE = {"NE": "neutral", "HA": "happy", "SA": "sadness", "SU": "surprise", "AN": "anger",
         "DI": "disgust", "FE": "fear"}  # fmt: skip
FERPLUS = ("neutral", "happy", "surprise", "sadness", "anger", "disgust", "fear", "contempt")


def jaffe(root: Path):
    for path in sorted(root.glob("*.tiff")):
        code = path.name.split(".")[1][:2]
        if code in JAFFE:
            yield path, JAFFE[code]


def ck(root: Path):
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.png")):
            yield path, folder.name


def ferplus(root: Path):
    with open(root / "label.csv", newline="") as f:
        for row in csv.reader(f):
            votes = [int(v) for v in row[2:10]]
            top = max(votes)
            if top == 0 or votes.count(top) > 1 or int(row[10]) + int(row[11]) >= top:
                continue  # a tie, unknown or not a face
            yield root / row[0], FERPLUS[votes.index(top)]


def landmarks(detector: YuNetDetector, path: Path, face_px: float):
    """YuNet's top face in the image enlarged so the image is ~1.6 ``face_px`` wide; or None."""
    grey = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if grey is None:
        return None
    scale = 1.6 * face_px / max(grey.shape)
    image = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    pad = int(0.3 * max(image.shape))
    image = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    faces = detector.detect(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
    return faces[0] if faces else None


def measure(name: str, items, detector, gate: QualityGate, face_px: float, limit: int) -> dict:
    items = list(items)
    if limit and len(items) > limit:  # an even spread over the (class-sorted) list
        items = [items[i] for i in np.linspace(0, len(items) - 1, limit).astype(int)]
    rows = []
    for path, label in items:
        face = landmarks(detector, path, face_px)
        if face is not None:
            yaw, pitch = head_pose(face.landmarks)
            rows.append((label, yaw, pitch, gate.before_crop(face)))
    if not rows:
        return {"dataset": name, "images": len(items), "faces": 0}
    labels = [r[0] for r in rows]
    yaw = np.array([r[1] for r in rows])
    pitch = np.array([r[2] for r in rows])
    why = Counter(r[3] for r in rows)
    passed = [r[0] for r in rows if r[3] is None]
    mix = {}
    for label in sorted(set(labels)):
        share_all = labels.count(label) / len(labels)
        share_pass = passed.count(label) / len(passed) if passed else 0.0
        turned = sum(1 for r in rows if r[0] == label and r[3] is not None)
        mix[label] = {
            "faces": labels.count(label),
            "share_all_pct": round(100 * share_all, 1),
            "share_passing_pct": round(100 * share_pass, 1),
            "shift_points": round(100 * (share_pass - share_all), 2),
            "rejected_pct": round(100 * turned / labels.count(label), 1),
        }
    return {
        "dataset": name,
        "images": len(items),
        "faces": len(rows),
        "turned_pct": round(100 * why["turned"] / len(rows), 2),
        "down_pct": round(100 * why["down"] / len(rows), 2),
        "rejected_pct": round(100 * (len(rows) - len(passed)) / len(rows), 2),
        "yaw_p50_p90_p95": [round(float(np.percentile(yaw, q)), 1) for q in (50, 90, 95)],
        "pitch_p5_p50_p95": [round(float(np.percentile(pitch, q)), 1) for q in (5, 50, 95)],
        "max_class_shift_points": max(abs(m["shift_points"]) for m in mix.values()),
        "classes": mix,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jaffe", type=Path)
    parser.add_argument("--ck", type=Path)
    parser.add_argument("--ferplus", type=Path)
    parser.add_argument("--face-model", help="YuNet ONNX [looked up]")
    parser.add_argument("--face-px", type=float, default=160.0, help="enlarged face width")
    parser.add_argument("--limit", type=int, default=1500, help="most images per dataset")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    sets = [(n, d, f) for n, d, f in (("jaffe", args.jaffe, jaffe), ("ck+48", args.ck, ck),
                                      ("ferplus", args.ferplus, ferplus)) if d]  # fmt: skip
    missing = [str(d) for _, d, _ in sets if not d.is_dir()]
    if not sets or missing:
        print(f"bench_gate: no dataset to measure ({', '.join(missing) or 'none given'}); skipped")
        return 0
    model = find_yunet(args.face_model or os.environ.get("FER_EDGE_YUNET"))
    if model is None:
        print("bench_gate: YuNet model not found (--face-model); skipped")
        return 0
    load = os.getloadavg()
    detector = YuNetDetector(model, score_threshold=0.6)
    gate = QualityGate(min_face=0.0, min_sharpness=0.0)  # the pose tests alone, defaults
    report = {
        "bench": "gate",
        "gate": {"max_yaw": gate.max_yaw, "max_pitch": gate.max_pitch},
        "face_px": args.face_px,
        "datasets": [
            measure(name, items(folder), detector, gate, args.face_px, args.limit)
            for name, folder, items in sets
        ],
    }
    emit(report, args.out, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
