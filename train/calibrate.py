"""A model's calibration for share estimation: how it reads labelled faces, at the device's sizes.

For each simulated face size (the image shrunk to PX and enlarged back, as a classroom camera's
small faces; "native": as the dataset gives it) the card gets the confusion matrix (rows true,
columns predicted, counts), the mean probability vector of each true class's faces and the
bias-corrected temperature scaling that makes the probabilities calibrated (``temperature``,
``bias``). The device's estimators (:mod:`fer_edge.classify.shares`) correct a window's counts
with them. Measured on faces the model was never trained on: each dataset's own validation
split, the run's held-out validation subjects, or, for a dataset the model never saw (a school's
own labelled images), all of it. Never on a test split.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from fer_edge.classify.shares import PROB_FLOOR, softmax
from fer_edge.contract.card import (
    calibration_problem,
    card_path_for,
    load_for_model,
    write_card,
)
from fer_edge.contract.errors import CardError, ConfigError
from fer_edge.contract.labels import LABELS
from fer_edge.contract.recipe import CropRecipe

from . import data
from .augment import shrink
from .prepare import Prepared

log = logging.getLogger(__name__)

#: The temperatures fitted, at most (a calibration of few faces must still be usable).
MIN_T, MAX_T = 0.05, 20.0
#: Face widths (px) calibrated by default, besides the native size.
FACE_PX = (24, 32, 48)


def calibration(
    probs: dict[str, np.ndarray], labels: np.ndarray, source: str, datasets: dict | None = None
) -> dict:
    """The card's ``calibration`` from each size's probabilities (N, C) of faces ``labels``."""
    c = len(LABELS)
    labels = np.asarray(labels, int)
    sizes = {}
    for size, p in probs.items():
        p = np.asarray(p, float)
        p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)  # int8 outputs: sums near 1
        confusion = np.zeros((c, c), np.int64)
        np.add.at(confusion, (labels, p.argmax(axis=1)), 1)
        mean = np.zeros((c, c))
        for i in range(c):
            if (labels == i).any():
                mean[i] = p[labels == i].mean(axis=0)
        temperature, bias = fit_scaling(p, labels)
        sizes[size] = {
            "n": int(len(labels)),
            "accuracy": round(float(np.trace(confusion) / max(len(labels), 1)), 4),
            "confusion": confusion.tolist(),
            "mean_probs": np.round(mean, 5).tolist(),
            "temperature": round(temperature, 5),
            "bias": np.round(bias, 5).tolist(),
        }
    result = {
        "source": source,
        "datasets": datasets or {},
        "class_counts": dict(zip(LABELS, np.bincount(labels, minlength=c).tolist(), strict=True)),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "tool": "fer-train calibrate",
        "sizes": sizes,
    }
    problem = calibration_problem(result)
    if problem:  # a bug here, not bad input: the card must never carry it
        raise ValueError(f"calibration: {problem}")
    return result


def fit_scaling(
    probs: np.ndarray, labels: np.ndarray, ridge: float = 1e-3, iterations: int = 100
) -> tuple[float, np.ndarray]:
    """Bias-corrected temperature scaling (Alexandari et al. 2020): the temperature T and
    class biases b (centred) minimising the log loss of softmax(log p / T + b) on ``labels``,
    plus ``ridge`` × ‖b‖² (which keeps b finite for a class without faces). Convex in 1/T
    and b: damped Newton, with T kept within [:data:`MIN_T`, :data:`MAX_T`] (few faces read
    all right, or probabilities that say nothing, would send it to 0 or infinity)."""
    logp = np.log(np.clip(np.asarray(probs, float), PROB_FLOOR, 1.0))
    n, c = logp.shape
    onehot = np.eye(c)[np.asarray(labels, int)]
    # d logits / d (1/T, b): (n, c, 1 + c)
    jac = np.concatenate([logp[:, :, None], np.broadcast_to(np.eye(c), (n, c, c))], axis=2)
    penalty = np.diag([0.0, *[ridge] * c])

    def clamped(theta):
        return np.concatenate([[np.clip(theta[0], 1 / MAX_T, 1 / MIN_T)], theta[1:]])

    def loss(theta):
        z = logp * theta[0] + theta[1:]
        z = z - z.max(axis=1, keepdims=True)
        logs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return -(onehot * logs).sum() / n + theta @ penalty @ theta

    theta = np.concatenate([[1.0], np.zeros(c)])
    current = loss(theta)
    for _ in range(iterations):
        s = softmax(logp * theta[0] + theta[1:])
        grad = np.einsum("nc,nck->k", s - onehot, jac) / n + 2 * penalty @ theta
        w = s[:, :, None] * np.eye(c) - s[:, :, None] * s[:, None, :]
        hess = np.einsum("nck,ncd,ndl->kl", jac, w, jac, optimize=True) / n + 2 * penalty
        step = np.linalg.solve(hess + 1e-9 * np.eye(c + 1), grad)
        scale = 1.0
        while scale > 1e-6 and loss(clamped(theta - scale * step)) > current:
            scale /= 2
        theta = clamped(theta - scale * step)
        previous, current = current, loss(theta)
        if previous - current < 1e-12:
            break
    return 1.0 / float(theta[0]), theta[1:] - theta[1:].mean()


def probabilities_at_sizes(predict, images: np.ndarray, face_px=FACE_PX) -> dict[str, np.ndarray]:
    """``predict``'s probabilities of ``images`` as they are ("native") and at each face size."""
    probs = {"native": predict(images)}
    for px in face_px:
        probs[str(px)] = predict(np.stack([shrink(image, int(px)) for image in images]))
    return probs


def calibration_part(prepared: Prepared, name: str, run: dict | None) -> tuple[Prepared, str]:
    """The faces of dataset ``name`` to calibrate on, and which part they are.

    Its own validation split where it has one; the run's held-out validation subjects where the
    model was trained on it; all of it where the model was not trained on it.
    """
    mine = prepared.select(prepared.datasets == name)
    if (mine.splits == "val").any():
        return mine.select(mine.splits == "val"), "validation split"
    trained_on = {s["name"] for s in run.get("sources", [])} if run else set()
    subjects = (run or {}).get("held_out_subjects", {}).get(name, {}).get("val")
    if name in trained_on:
        if not subjects:
            raise ConfigError(
                f"{name}: the model was trained on it and its card names no held-out validation "
                "subjects; calibrate on a validation split or on data it never saw"
            )
        keep = np.isin(mine.subjects, subjects)
        return mine.select(keep), f"held-out validation subjects ({len(subjects)})"
    if (mine.splits == "test").any() or (mine.splits == "train").any():
        keep = mine.splits == ""
        if not keep.any():
            raise ConfigError(f"{name}: no validation split (never calibrate on test or train)")
        return mine.select(keep), "all unsplit images"
    return mine, "all (the model was not trained on this dataset)"


def calibrate_model(
    model_path: Path,
    specs: list[tuple[str, Path]],
    prep,
    face_px: tuple[int, ...] = FACE_PX,
    card_path: Path | None = None,
) -> dict:
    """Measure ``model_path`` on ``specs`` and write the calibration into its card (atomically)."""
    from .predict import open_predictor
    from .workflow import training_record

    model_path = Path(model_path)
    try:
        card_file = Path(card_path) if card_path else card_path_for(model_path)
        card = load_for_model(model_path, card_file)
    except CardError as exc:
        raise ConfigError(f"{exc} (calibrate adds to an existing card)") from None
    predictor = open_predictor(model_path)
    run = training_record(model_path, card)
    recipe = card.crop if card else CropRecipe(size=predictor.image_size)
    prepared = prep.load(specs, recipe, assign_splits=False)
    parts, described, counts = [], [], {}
    for name in data.dataset_names(specs):
        part, which = calibration_part(prepared, name, run)
        if len(part) == 0:
            log.warning("%s: no faces to calibrate on (%s)", name, which)
            continue
        log.info("%s: calibrating on %d faces (%s)", name, len(part), which)
        parts.append(part)
        described.append(f"{name}: {which}, {len(part)} faces")
        counts[name] = len(part)
    if not parts:
        raise ConfigError("no labelled faces to calibrate on")
    images = np.concatenate([p.images for p in parts])
    labels = np.concatenate([p.labels for p in parts])
    probs = probabilities_at_sizes(predictor.predict, images, face_px)
    result = calibration(probs, labels, "; ".join(described), counts)
    card.calibration = result
    write_card(card, card_file)
    log.info("%s: calibration written (%d faces, sizes %s)", card_file, len(labels), list(probs))
    return result
