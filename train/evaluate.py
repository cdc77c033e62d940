"""Evaluation: predictions of a .keras or .tflite model, per-class metrics, reports."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from fer_edge.contract import atomic
from fer_edge.contract.labels import LABELS

log = logging.getLogger(__name__)


def metrics(y_true: np.ndarray, y_pred: np.ndarray, split: str) -> dict:
    """n, accuracy, per-class precision/recall/f1/n and the confusion matrix (rows = truth)."""
    n_classes = len(LABELS)
    confusion = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(confusion, (y_true.astype(int), y_pred.astype(int)), 1)
    per_class = {}
    for i, label in enumerate(LABELS):
        tp = confusion[i, i]
        predicted, actual = confusion[:, i].sum(), confusion[i, :].sum()
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {
            "precision": round(float(precision), 4),
            "recall": round(float(recall), 4),
            "f1": round(float(f1), 4),
            "n": int(actual),
        }
    n = int(len(y_true))
    return {
        "n": n,
        "accuracy": round(float((y_true == y_pred).mean()), 4) if n else 0.0,
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "split": split,
    }


def shares(labels: np.ndarray) -> dict[str, float]:
    """Each label's share of ``labels`` (class indices), in LABELS order, 4 decimals."""
    counts = np.bincount(np.asarray(labels, int), minlength=len(LABELS)).astype(float)
    total = max(counts.sum(), 1.0)
    return {label: round(float(c / total), 4) for label, c in zip(LABELS, counts, strict=True)}


def at_face_sizes(
    predict, images: np.ndarray, labels: np.ndarray, sizes, what: str | None = None
) -> dict[str, dict]:
    """Accuracy and predicted class shares with every image shrunk to each size and back.

    Simulates faces of ``px`` px, as a classroom camera sees them (15-30 px), through the
    device's own resizing (:func:`fer_train.augment.shrink`). ``what``: report progress under
    this name (see :func:`fer_train.progress.predict_in_steps`).
    """
    from .augment import shrink
    from .progress import predict_in_steps

    out = {}
    for px in sizes:
        shrunk = np.stack([shrink(image, int(px)) for image in images])
        if what:
            probs = predict_in_steps(predict, shrunk, f"{what} at {px} px")
        else:
            probs = predict(shrunk)
        pred = probs.argmax(axis=1)
        out[str(px)] = {
            "accuracy": round(float((pred == labels).mean()), 4) if len(labels) else 0.0,
            "predicted_shares": shares(pred),
        }
    return out


def write_reports(out_dir: Path, results: dict[str, dict], title: str) -> dict:
    """``report.json``, ``report.md`` and ``confusion-NAME.png`` per dataset in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {"labels": list(LABELS), "datasets": results}
    atomic.write_text(out_dir / "report.json", json.dumps(report, indent=2) + "\n")
    lines = [f"# {title}", ""] + summary_table(results)
    for name, res in results.items():
        lines += [
            f"## {name}: accuracy {res['accuracy']:.1%} on {res['n']} images ({res['split']})",
            "",
            "| label | precision | recall | f1 | n |",
            "|---|---|---|---|---|",
        ]
        for label, m in res["per_class"].items():
            lines.append(
                f"| {label} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['n']} |"
            )
        lines.append("")
        if res.get("face_px"):
            lines += _face_px_table(res)
        plot_confusion(out_dir / f"confusion-{name}.png", np.array(res["confusion"]), name)
    atomic.write_text(out_dir / "report.md", "\n".join(lines))
    return report


def summary_table(results: dict[str, dict]) -> list[str]:
    """Markdown: accuracy per dataset (and at each simulated face size), recall per class,
    and the true vs predicted class shares (``true → predicted``, when face sizes were run)."""
    if not results:
        return []
    sizes = sorted({px for r in results.values() for px in r.get("face_px", {})}, key=int)
    head = "| dataset | part | n | accuracy |" + "".join(f" {px} px |" for px in sizes)
    lines = ["## Summary", "", head, "|---" * (4 + len(sizes)) + "|"]
    for name, res in results.items():
        cells = [f"{res['face_px'][px]['accuracy']:.1%}" if px in res.get("face_px", {}) else "-"
                 for px in sizes]  # fmt: skip
        lines.append(
            f"| {name} | {res['split']} | {res['n']} | {res['accuracy']:.1%} |"
            + "".join(f" {c} |" for c in cells)
        )
    lines += ["", "Recall per class:", "", "| dataset | " + " | ".join(LABELS) + " |"]
    lines.append("|---" * (len(LABELS) + 1) + "|")
    for name, res in results.items():
        recall = [
            f"{m['recall']:.0%}" if m["n"] else "-"
            for m in (res["per_class"][label] for label in LABELS)
        ]
        lines.append(f"| {name} | " + " | ".join(recall) + " |")
    with_shares = {n: r for n, r in results.items() if "predicted_shares" in r}
    if with_shares:
        lines += ["", "Class shares, true → predicted:", ""]
        lines += ["| dataset | " + " | ".join(LABELS) + " |", "|---" * (len(LABELS) + 1) + "|"]
        for name, res in with_shares.items():
            cells = [
                f"{res['true_shares'][label]:.0%} → {res['predicted_shares'][label]:.0%}"
                for label in LABELS
            ]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines + [""]


def plot_confusion(path: Path, confusion: np.ndarray, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    rows = confusion.sum(axis=1, keepdims=True)
    norm = np.divide(confusion, rows, out=np.zeros(confusion.shape, float), where=rows > 0)
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(LABELS)), LABELS, rotation=45, ha="right")
    ax.set_yticks(range(len(LABELS)), LABELS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(len(LABELS)):
        for j in range(len(LABELS)):
            if confusion[i, j]:
                ax.text(j, i, str(confusion[i, j]), ha="center", va="center", fontsize=8)
    fig.tight_layout()
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def _face_px_table(res: dict) -> list[str]:
    short = [label[:8] for label in LABELS]
    lines = [
        "Simulated face sizes (shrunk to px and enlarged back): accuracy, predicted shares",
        "",
        "| face px | accuracy | " + " | ".join(short) + " |",
        "|---" * (len(LABELS) + 2) + "|",
    ]
    rows = [("true", None, res["true_shares"]), ("full", res["accuracy"], res["predicted_shares"])]
    rows += [(px, r["accuracy"], r["predicted_shares"]) for px, r in res["face_px"].items()]
    for name, accuracy, row in rows:
        acc = "" if accuracy is None else f"{accuracy:.1%}"
        lines.append(f"| {name} | {acc} | " + " | ".join(f"{v:.0%}" for v in row.values()) + " |")
    return lines + [""]
