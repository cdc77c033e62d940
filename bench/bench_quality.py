"""Where does the default model stay reliable? Sweeps face size, blur and head pose.

A proxy, and a weak one: the faces are variants of ONE face with ONE expression (skimage's
astronaut, smiling), flipped, darkened, noised, turned in-plane by up to ±10°, on real
backgrounds. Yaw and pitch are a flat face turned in 3D (a perspective warp), not a real head
turning. For each setting the bench reports the share of variants whose top-1 class equals that
variant's own top-1 at 96 px (``agreement``), the mean top-1 confidence, the class shares, and
the gate's own measurement (width, sharpness, estimated yaw/pitch), then the threshold where
agreement first falls below --agree. Size and blur crop with the true box and landmarks; pose
uses YuNet's landmarks (as the daemon does). Prints JSON (or --out). Usage:

    python bench/bench_quality.py [--quick] [--variants 32] [--agree 0.9] [--out quality.json]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from bench_daemon import face_model  # noqa: E402
from benchjson import emit  # noqa: E402
from scenes import ASTRONAUT_FACE, BACKGROUNDS, astronaut, background, face_box  # noqa: E402

from fer_edge.assemble import load_classifier  # noqa: E402
from fer_edge.classify.prior import correct, prior_for_run  # noqa: E402
from fer_edge.config import RunConfig  # noqa: E402
from fer_edge.faces.crop import crop_square  # noqa: E402
from fer_edge.faces.detect import YuNetDetector  # noqa: E402
from fer_edge.faces.quality import head_pose, sharpness  # noqa: E402

#: YuNet's landmarks of the astronaut's face (right eye, left eye, nose, mouth corners).
ASTRONAUT_MARKS = ((200.1, 101.8), (247.1, 102.6), (220.4, 124.5), (198.6, 142.8), (239.7, 143.6))
WIDTHS = (10, 12, 14, 16, 18, 20, 24, 28, 32, 40, 48, 64, 96)
BLURS = (
    0.0,
    0.01,
    0.02,
    0.03,
    0.04,
    0.05,
    0.06,
    0.08,
)  # Gaussian sigma as a fraction of face width
ANGLES = (0, 10, 20, 25, 30, 35, 40, 50, 60)


def variant(rng: np.random.Generator) -> dict:
    return {
        "flip": bool(rng.random() < 0.5),
        "gain": float(rng.uniform(0.6, 1.1)),
        "roll": float(rng.uniform(-10, 10)),
        "noise": float(rng.uniform(0, 4)),
        "background": BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))],
        "dx": float(rng.uniform(-0.1, 0.1)),
    }


def render(v: dict, width: float, blur: float = 0.0, yaw: float = 0.0, pitch: float = 0.0):
    """A 640x360 frame with the face ``width`` px wide at its centre: (frame, box, landmarks)."""
    src = astronaut()
    marks = np.array(ASTRONAUT_MARKS, np.float64)
    cx0, cy0 = ASTRONAUT_FACE[0] + ASTRONAUT_FACE[2] / 2, ASTRONAUT_FACE[1] + ASTRONAUT_FACE[3] / 2
    if v["flip"]:
        src = np.ascontiguousarray(src[:, ::-1])
        marks[:, 0] = src.shape[1] - 1 - marks[:, 0]
        marks = marks[[1, 0, 2, 4, 3]]  # the subject's right and left swap
        cx0 = src.shape[1] - 1 - cx0
    scale = width / ASTRONAUT_FACE[2]
    cx, cy = 320 + v["dx"] * width, 180.0
    # A flat face turned by yaw/pitch about its centre, seen from 6 face widths away.
    dist = 6 * ASTRONAUT_FACE[2]
    ry, rp = np.radians(yaw), np.radians(pitch)
    rot_y = np.array([[np.cos(ry), 0, np.sin(ry)], [0, 1, 0], [-np.sin(ry), 0, np.cos(ry)]])
    rot_x = np.array([[1, 0, 0], [0, np.cos(rp), -np.sin(rp)], [0, np.sin(rp), np.cos(rp)]])
    rot = rot_x @ rot_y

    def project(p):
        q = rot @ np.array([p[0] - cx0, p[1] - cy0, 0.0])
        f = dist / (dist + q[2])
        return (q[0] * f * scale + cx, q[1] * f * scale + cy)

    corners = np.float32([(cx0 - 200, cy0 - 200), (cx0 + 200, cy0 - 200),
                          (cx0 + 200, cy0 + 200), (cx0 - 200, cy0 + 200)])  # fmt: skip
    homography = cv2.getPerspectiveTransform(corners, np.float32([project(p) for p in corners]))
    roll = cv2.getRotationMatrix2D((cx, cy), v["roll"], 1.0)
    homography = np.vstack([roll, [0, 0, 1]]) @ homography
    frame = background(v["background"]).astype(np.float32)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    face = cv2.warpPerspective(src, homography, (640, 360), flags=interp).astype(np.float32)
    mask = np.zeros(src.shape[:2], np.float32)
    cv2.ellipse(mask, (int(cx0), int(cy0 + 10)), (75, 105), 0, 0, 360, 1.0, -1)
    mask = cv2.warpPerspective(cv2.GaussianBlur(mask, (0, 0), 8), homography, (640, 360))[..., None]
    frame = mask * face * v["gain"] + (1 - mask) * frame
    if blur > 0:
        frame = cv2.GaussianBlur(frame, (0, 0), blur * width)
    noise = np.random.default_rng(int(v["gain"] * 1e6)).normal(0, v["noise"], frame.shape)
    frame = np.clip(frame + noise, 0, 255).astype(np.uint8)
    pts = cv2.perspectiveTransform(marks[None].astype(np.float32), homography)[0]
    return frame, face_box(cx, cy, width), tuple(map(tuple, pts))


def classify(classifier, prior, crops) -> np.ndarray:
    probs = classifier.predict(np.stack(crops))
    return correct(probs, prior) if prior is not None else probs


def summarise(probs, reference, labels, measure) -> dict:
    top = probs.argmax(1)
    return {
        "agreement": round(float((top == reference).mean()), 3),
        "confidence": round(float(probs.max(1).mean()), 3),
        "shares": {lab: round(float((top == i).mean()), 3) for i, lab in enumerate(labels)},
        **measure,
    }


def threshold(rows: list[dict], key: str, agree: float, increasing: bool) -> float | None:
    """The gate value at the last setting (walking away from the clean one) that still agrees."""
    ordered = rows if increasing else rows[::-1]
    good = None
    for row in ordered:
        if row["agreement"] < agree:
            break
        good = row[key]
    return good


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=32)
    parser.add_argument("--quick", action="store_true", help="8 variants, for CI")
    parser.add_argument("--agree", type=float, default=0.9)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    n = 8 if args.quick else args.variants
    load_before = os.getloadavg()
    classifier = load_classifier(RunConfig.from_options({"threads": args.threads}))
    card = classifier.card
    prior = prior_for_run(card, True)
    recipe = card.crop
    detector = YuNetDetector(face_model(), score_threshold=0.3)
    rng = np.random.default_rng(0)
    variants = [variant(rng) for _ in range(n)]

    def crops_at(**kwargs):
        out = []
        for v in variants:
            frame, box, marks = render(v, **kwargs)
            out.append((frame, box, marks))
        return out

    ref_probs = classify(
        classifier, prior, [crop_square(f, b, recipe, m[:2]) for f, b, m in crops_at(width=96)]
    )
    reference = ref_probs.argmax(1)
    labels = card.labels
    report: dict = {
        "benchmark": "default-model reliability vs face size, blur and head pose (proxy)",
        "proxy": "one face (skimage astronaut, smiling), one expression; pose = flat-face warp",
        "model_sha256": card.sha256,
        "prior_correction": prior is not None,
        "variants": n,
        "agree": args.agree,
        "reference_96px": summarise(ref_probs, reference, labels, {}),
    }
    rows = []
    for width in WIDTHS:
        scenes = crops_at(width=width)
        probs = classify(
            classifier, prior, [crop_square(f, b, recipe, m[:2]) for f, b, m in scenes]
        )
        rows.append(summarise(probs, reference, labels, {"width": width}))
    report["size"] = rows
    rows = []
    for blur in BLURS:
        scenes = crops_at(width=48, blur=blur)
        crops = [crop_square(f, b, recipe, m[:2]) for f, b, m in scenes]
        probs = classify(classifier, prior, crops)
        sharp = float(np.median([sharpness(f, b) for f, b, _ in scenes]))
        rows.append(summarise(probs, reference, labels, {"blur": blur, "sharpness": sharp}))
    report["blur_at_48px"] = rows
    for axis in ("yaw", "pitch"):
        rows = []
        for angle in ANGLES:
            crops, poses, true_poses, found = [], [], [], 0
            for frame, box, marks in crops_at(width=64, **{axis: angle}):
                true_poses.append(head_pose(marks)[0 if axis == "yaw" else 1])
                faces = detector.detect(frame)
                if faces:
                    face = faces[0]
                    found += 1
                    crops.append(crop_square(frame, face.box, recipe, face.eyes))
                    poses.append(head_pose(face.landmarks)[0 if axis == "yaw" else 1])
                else:
                    crops.append(crop_square(frame, box, recipe, marks[:2]))
            probs = classify(classifier, prior, crops)
            measure = {
                axis: angle,
                "estimated": round(float(np.median(poses)), 1) if poses else None,
                "estimated_true_landmarks": round(float(np.median(true_poses)), 1),
                "detected": round(found / n, 3),
            }
            rows.append(summarise(probs, reference, labels, measure))
        report[f"{axis}_at_64px"] = rows
    report["thresholds"] = {
        "min_face_px": threshold(report["size"], "width", args.agree, increasing=False),
        "min_sharpness": threshold(report["blur_at_48px"], "sharpness", args.agree, True),
        "max_yaw_estimated": threshold(report["yaw_at_64px"], "estimated", args.agree, True),
        "max_pitch_estimated": threshold(report["pitch_at_64px"], "estimated", args.agree, True),
        "max_pitch_true_landmarks": threshold(
            report["pitch_at_64px"], "estimated_true_landmarks", args.agree, True
        ),
    }
    emit(report, args.out, load_before)


if __name__ == "__main__":
    main()
