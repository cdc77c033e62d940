"""How close are a window's estimated class shares to the room's true mix? Per estimator.

Simulated windows of real labelled faces: FER+ Test faces (majority labels) drawn into
classroom-sized windows (``--faces`` 15-30) with class mixes unlike the training mix (a lesson:
mostly neutral and happy; the lesson with every 10th window a laugh, mostly happy; one class
absent; uniform; the test split's own mix), one room a mix, its windows in sequence (``bayes``
learns the room's recent mix from the windows before), each face at a
face size drawn from ``--face-px`` (the image shrunk to PX and enlarged back, as a classroom
camera's small faces). The shipped int8 model's probabilities are computed once and cached
outside the repository (``--cache``). The estimators' calibration (confusion matrix and mean
probabilities per class and size) is measured on FER+ Valid only, by ``fer-train calibrate``'s
own function; Test is never used for it.

Per mix and method: the mean and 90th percentile of the total variation distance (TVD, half the
L1 distance) between estimated and true shares, the mean difference from counting's on the same
windows with its standard error, how often the 90 % intervals hold the true share (per class
and window), and the median time of one window's estimate with its interval. ``prior`` is the
constant baseline: the model card's training class prior, whatever the window shows. Prints JSON
(or --out). Usage:

    python bench/bench_shares.py [--windows 300] [--faces 15,30] [--out shares.json]

Choosing (``--on valid``): the calibration from one half of FER+ Valid, the windows drawn from
the other half, Test untouched; ``--room W:S,...`` adds ``bayes`` variants that remember W
windows with the weight of S faces (the default's were chosen so):

    python bench/bench_shares.py --on valid --methods cc,bayes --room 5:5,10:10,10:20,30:20
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchjson import emit  # noqa: E402
from shares_data import cached_probs  # noqa: E402

from fer_edge.classify.packaged_model import resolve_model  # noqa: E402
from fer_edge.classify.shares import ShareEstimator, em  # noqa: E402
from fer_edge.contract.card import load_for_model  # noqa: E402
from fer_edge.contract.labels import LABELS  # noqa: E402

LAUGH = {
    "neutral": 0.2,
    "happy": 0.7,
    "surprise": 0.05,
    "sadness": 0.02,
    "anger": 0.01,
    "fear": 0.01,
    "disgust": 0.01,
}
MIXES = {
    "lesson": {
        "neutral": 0.6,
        "happy": 0.25,
        "sadness": 0.05,
        "surprise": 0.05,
        "anger": 0.02,
        "fear": 0.015,
        "disgust": 0.015,
    },
    "lesson+laughs": None,  # the lesson, every 10th window LAUGH
    "no-happy": None,  # the test split's mix with happy absent
    "uniform": {label: 1 / len(LABELS) for label in LABELS},
    "test-mix": None,  # the test split's own mix
}
#: (estimator method, prior correction) per reported name.
VARIANTS = {
    "cc": ("cc", False),
    "cc+prior": ("cc", True),
    "pcc": ("pcc", False),
    "pcc+prior": ("pcc", True),
    "acc": ("acc", False),
    "pacc": ("pacc", False),
    "em": ("em", False),
    "bayes": ("bayes", False),
}


def mix_vector(name: str, test_labels: np.ndarray, window: int = 0) -> np.ndarray:
    """The true class mix of window ``window`` of room ``name``."""
    if name == "lesson+laughs":
        return mix_vector("lesson" if window % 10 != 9 else "laugh", test_labels)
    if name == "laugh":
        return np.array([LAUGH[label] for label in LABELS], float)
    if MIXES[name] is not None:
        v = np.array([MIXES[name][label] for label in LABELS], float)
    else:
        v = np.bincount(test_labels, minlength=len(LABELS)).astype(float)
        if name == "no-happy":
            v[LABELS.index("happy")] = 0.0
    return v / v.sum()


def tvd(a: np.ndarray, b: np.ndarray) -> float:
    return 0.5 * float(np.abs(a - b).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="Model .tflite [the packaged default].")
    parser.add_argument("--ferplus", type=Path, default=Path("~/datasets/ferplus").expanduser())
    parser.add_argument("--cache", type=Path, default=Path("~/cache/fer-estimate").expanduser())
    parser.add_argument("--windows", type=int, default=300, help="Windows per mix.")
    parser.add_argument("--faces", default="15,30", help="MIN,MAX faces in a window.")
    parser.add_argument("--face-px", default="24,32,48", help="Face sizes drawn per face.")
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", default=",".join(VARIANTS))
    parser.add_argument(
        "--intervals",
        default="cc,pcc,pacc,bayes",
        help="Methods whose 90 %% intervals are measured (bayes always is).",
    )
    parser.add_argument(
        "--on",
        choices=("test", "valid"),
        default="test",
        help="test: windows of FER+ Test, calibration on Valid; valid: both from Valid's halves.",
    )
    parser.add_argument(
        "--room", default="", help="Extra bayes variants W:S (room windows, strength in faces)."
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    load_before = os.getloadavg()
    from fer_train.calibrate import calibration

    model = resolve_model(args.model)
    card = load_for_model(model)
    sizes = [s.strip() for s in args.face_px.split(",")]
    needed = ("native", *sizes)
    valid = cached_probs(model, args.ferplus / "FER2013Valid", args.cache)
    if args.on == "test":
        test = cached_probs(model, args.ferplus / "FER2013Test", args.cache)
        part = "FER+ Valid"
    else:  # choosing: calibrate on one half of Valid, draw windows from the other
        order = np.random.default_rng(12345).permutation(len(valid["labels"]))
        halves = order[: len(order) // 2], order[len(order) // 2 :]
        valid, test = ({k: v[h] for k, v in valid.items()} for h in halves)
        part = "FER+ Valid's first half (windows: its second half)"
    calib = calibration(
        {s: valid[f"probs:{s}"] for s in needed},
        valid["labels"],
        f"{part}, majority labels, {len(valid['labels'])} faces",
    )
    calibrated = dataclasses.replace(card, calibration=calib)
    low, high = (int(v) for v in args.faces.split(","))
    names = [m for m in args.methods.split(",") if m]
    rooms = {f"bayes({r})": tuple(r.split(":")) for r in args.room.split(",") if r}
    variants = VARIANTS | {name: ("bayes", False) for name in rooms}
    names += list(rooms)
    with_intervals = [m for m in args.intervals.split(",") if m in names]
    with_intervals += [m for m in names if variants[m][0] == "bayes" and m not in with_intervals]

    def fresh_estimators() -> dict[str, ShareEstimator]:
        """One room's estimators (``bayes`` remembers the room's windows)."""
        return {
            name: ShareEstimator(
                calibrated,
                "pcc" if variants[name][0] == "em" else variants[name][0],
                variants[name][1],
                bootstrap=args.bootstrap,
                **(
                    {"room_windows": int(rooms[name][0]), "room_strength": float(rooms[name][1])}
                    if name in rooms
                    else {}
                ),
            )
            for name in names
        }

    prior = np.array(card.class_prior, float)
    prior /= prior.sum()
    test_labels = test["labels"]
    by_class = [np.flatnonzero(test_labels == i) for i in range(len(LABELS))]
    report: dict = {
        "model": card.sha256[:12],
        "calibration": calib["source"],
        "windows_from": "FER+ Test" if args.on == "test" else "FER+ Valid's second half",
        "test_faces": int(len(test_labels)),
        "windows_per_mix": args.windows,
        "faces_per_window": [low, high],
        "face_px": sizes,
        "bootstrap": args.bootstrap,
        "level": 0.9,
        "methods": {
            n: {"method": variants[n][0], "prior_correction": variants[n][1]} for n in names
        },
        "mixes": {},
    }
    # The whole test split, counted at its native size: the bias before any classroom effect.
    native = test["probs:native"]
    report["whole_test_split"] = {
        "true": dict(
            zip(
                LABELS,
                np.round(np.bincount(test_labels, minlength=7) / len(test_labels), 4).tolist(),
                strict=True,
            )
        ),
        "counted": dict(
            zip(
                LABELS,
                np.round(np.bincount(native.argmax(1), minlength=7) / len(test_labels), 4).tolist(),
                strict=True,
            )
        ),
        "accuracy": round(float((native.argmax(1) == test_labels).mean()), 4),
    }
    t0 = time.perf_counter()
    for mix_name in MIXES:
        rng = np.random.default_rng([args.seed, len(report["mixes"])])
        estimators = fresh_estimators()
        errors: dict[str, list[float]] = {n: [] for n in [*names, "prior"]}
        covered = {n: 0 for n in with_intervals}
        width = {n: 0.0 for n in with_intervals}
        seconds: dict[str, list[float]] = {n: [] for n in with_intervals}
        fallbacks = {n: 0 for n in with_intervals}
        for window in range(args.windows):
            mix = mix_vector(mix_name, test_labels, window)
            n = int(rng.integers(low, high + 1))
            labels = rng.choice(len(LABELS), size=n, p=mix)
            faces = np.array([rng.choice(by_class[y]) for y in labels])
            px = rng.choice(sizes, size=n)
            probs = np.stack(
                [test[f"probs:{s}"][f] for f, s in zip(faces, px, strict=True)]
            ).astype(float)
            truth = np.bincount(labels, minlength=len(LABELS)) / n
            errors["prior"].append(tvd(prior, truth))
            face_px = px.astype(float)
            for name in names:
                estimator = estimators[name]
                if name in with_intervals:
                    started = time.perf_counter()
                    est = estimator.estimate(probs, face_px)
                    seconds[name].append(time.perf_counter() - started)
                    errors[name].append(tvd(est.shares, truth))
                    inside = (est.low <= truth + 1e-9) & (truth <= est.high + 1e-9)
                    covered[name] += int(inside.sum())
                    width[name] += float((est.high - est.low).mean())
                    fallbacks[name] += est.method != variants[name][0]
                elif variants[name][0] == "em":
                    errors[name].append(tvd(em(probs, estimator.model_prior), truth))
                else:
                    index = estimator.calibration.size_index(face_px, n)
                    errors[name].append(tvd(estimator.point(estimator.method, probs, index), truth))
        cells = len(LABELS) * args.windows
        report["mixes"][mix_name] = {
            "true_mix": dict(
                zip(LABELS, np.round(mix_vector(mix_name, test_labels), 4).tolist(), strict=True)
            ),
            "tvd_mean": {k: round(float(np.mean(v)), 4) for k, v in errors.items()},
            "tvd_p90": {k: round(float(np.quantile(v, 0.9)), 4) for k, v in errors.items()},
            # Paired with counting on the same windows: mean difference and its standard error.
            "tvd_minus_cc": {
                k: [round(float(d.mean()), 4), round(float(d.std(ddof=1) / np.sqrt(len(d))), 4)]
                for k, v in errors.items()
                if "cc" in errors and k != "cc"
                for d in [np.subtract(v, errors["cc"])]
            },
            "interval_coverage": {k: round(covered[k] / cells, 4) for k in with_intervals},
            "interval_mean_width": {k: round(width[k] / args.windows, 4) for k in with_intervals},
            # One window's estimate with its interval (bayes: with the room's windows remembered).
            "ms_per_window_median": {
                k: round(float(np.median(seconds[k])) * 1e3, 2) for k in with_intervals
            },
            "fallbacks": fallbacks,
        }
        if mix_name == "lesson+laughs":  # the laughs alone, and the windows right after them
            laughs = np.arange(args.windows) % 10 == 9
            after = np.roll(laughs, 1) & (np.arange(args.windows) > 0)
            for key, pick in (("tvd_mean_laugh_windows", laughs), ("tvd_mean_after_laugh", after)):
                report["mixes"][mix_name][key] = {
                    k: round(float(np.mean(np.asarray(v)[pick])), 4) for k, v in errors.items()
                }
        logging.info("%s: %s", mix_name, report["mixes"][mix_name]["tvd_mean"])
    report["seconds"] = round(time.perf_counter() - t0, 1)
    emit(report, args.out, load_before)


if __name__ == "__main__":
    main()
