"""Float (Keras) vs converted (TFLite through the device runtime): do they predict the same?"""

from __future__ import annotations

import numpy as np

from fer_edge.contract.labels import LABELS

DEFAULT_THRESHOLD = 0.98


def _figures(p_float: np.ndarray, p_conv: np.ndarray, labels: np.ndarray) -> dict:
    top_f, top_c = p_float.argmax(1), p_conv.argmax(1)
    diff = np.abs(p_float - p_conv)
    return {
        "n": int(len(labels)),
        "agreement": float(np.mean(top_f == top_c)),
        "float_accuracy": float(np.mean(top_f == labels)),
        "converted_accuracy": float(np.mean(top_c == labels)),
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
    }


def compare(
    p_float: np.ndarray,
    p_conv: np.ndarray,
    labels: np.ndarray,
    threshold: float,
    datasets: np.ndarray | None = None,
) -> dict:
    """Parity figures overall, per true class and per source dataset.

    ``passed`` is true when the top-1 agreement reaches ``threshold``.
    """
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        raise ValueError("parity needs at least one image")

    def subset(mask: np.ndarray) -> dict:
        return _figures(p_float[mask], p_conv[mask], labels[mask])

    result = _figures(p_float, p_conv, labels)
    result["per_class"] = {
        name: subset(labels == k) for k, name in enumerate(LABELS) if np.any(labels == k)
    }
    if datasets is not None:
        datasets = np.asarray(datasets).astype(str)
        result["per_dataset"] = {
            name: subset(datasets == name) for name in sorted(set(datasets.tolist()))
        }
    result["threshold"] = threshold
    result["passed"] = bool(result["agreement"] >= threshold)
    return result


def format_table(parity: dict) -> str:
    """The parity figures as a plain-text table, one row per class plus the total."""
    head = (
        f"{'class':<10} {'n':>6} {'agree':>7} {'acc f32':>8} {'acc conv':>8} {'max|dp|':>8} "
        f"{'mean|dp|':>8}"
    )
    rows = [head, "-" * len(head)]

    def row(name: str, f: dict) -> str:
        return (
            f"{name:<10} {f['n']:>6} {f['agreement']:>7.1%} {f['float_accuracy']:>8.1%} "
            f"{f['converted_accuracy']:>8.1%} {f['max_abs_diff']:>8.4f} {f['mean_abs_diff']:>8.4f}"
        )

    rows += [row(name, f) for name, f in parity["per_class"].items()]
    if len(parity.get("per_dataset", {})) > 1:
        rows.append("-" * len(head))
        rows += [row(name, f) for name, f in parity["per_dataset"].items()]
    rows += ["-" * len(head), row("all", parity)]
    verdict = "PASS" if parity["passed"] else "FAIL"
    rows.append(
        f"top-1 agreement {parity['agreement']:.1%} vs threshold {parity['threshold']:.1%}: "
        f"{verdict}"
    )
    return "\n".join(rows)
