"""Parity figures: float vs converted agreement, accuracy and differences, per class and dataset."""

from __future__ import annotations

import numpy as np
import pytest

from fer_convert import parity
from fer_edge.contract.labels import LABELS


def _probs(top: np.ndarray, confidence: float = 0.9) -> np.ndarray:
    p = np.full((len(top), len(LABELS)), (1 - confidence) / (len(LABELS) - 1), np.float32)
    p[np.arange(len(top)), top] = confidence
    return p


def test_compare_counts_agreement_accuracy_and_differences():
    labels = np.array([0, 0, 1, 1, 2])
    p_float = _probs(np.array([0, 0, 1, 1, 1]))
    p_conv = _probs(np.array([0, 3, 1, 1, 1]))
    datasets = np.array(["ckplus", "ckplus", "fer2013", "fer2013", "jaffe"])
    result = parity.compare(p_float, p_conv, labels, threshold=0.9, datasets=datasets)
    assert result["agreement"] == pytest.approx(0.8)
    assert result["float_accuracy"] == pytest.approx(0.8)
    assert result["converted_accuracy"] == pytest.approx(0.6)
    assert result["max_abs_diff"] == pytest.approx(0.9 - 0.1 / 6, abs=1e-6)
    assert result["passed"] is False
    assert set(result["per_class"]) == {"anger", "disgust", "fear"}
    assert result["per_class"]["anger"]["agreement"] == pytest.approx(0.5)
    assert result["per_class"]["disgust"]["agreement"] == 1.0
    assert result["per_class"]["fear"]["float_accuracy"] == 0.0
    assert result["per_dataset"]["ckplus"]["agreement"] == pytest.approx(0.5)
    assert result["per_dataset"]["fer2013"]["n"] == 2
    assert result["per_dataset"]["jaffe"]["converted_accuracy"] == 0.0
    table = parity.format_table(result)
    assert "anger" in table and "jaffe" in table and "FAIL" in table and "80.0%" in table


def test_compare_passes_at_threshold():
    top = np.array([0, 1, 2, 3])
    result = parity.compare(_probs(top), _probs(top, 0.8), top, threshold=1.0)
    assert result["passed"] is True and result["agreement"] == 1.0
    assert result["mean_abs_diff"] > 0
