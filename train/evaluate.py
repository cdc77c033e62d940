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


def write_reports(out_dir: Path, results: dict[str, dict], title: str) -> dict:
    """``report.json``, ``report.md`` and ``confusion-NAME.png`` per dataset in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {"labels": list(LABELS), "datasets": results}
    atomic.write_text(out_dir / "report.json", json.dumps(report, indent=2) + "\n")
    lines = [f"# {title}", ""]
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
        plot_confusion(out_dir / f"confusion-{name}.png", np.array(res["confusion"]), name)
    atomic.write_text(out_dir / "report.md", "\n".join(lines))
    return report


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
