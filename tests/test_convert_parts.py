"""fer-convert's pure parts: dataset specs, stratified calibration sampling, parity figures."""

from __future__ import annotations

import numpy as np
import pytest

from fer_convert import calibration, parity
from fer_edge.contract.labels import LABELS
from fer_train.prepare import Prepared


def test_calibration_images_are_stratified_by_class_and_source():
    n = 100
    labels = np.array([0] * 90 + [1] * 5 + [2] * 5)
    datasets = np.array(["fer2013"] * 95 + ["jaffe"] * 5)
    images = np.arange(n, dtype=np.uint8)[:, None, None, None] * np.ones((1, 4, 4, 3), np.uint8)
    prepared = Prepared(images, labels, datasets, np.full(n, "train"), np.full(n, ""), {})
    out = calibration.calibration_images(prepared, 12, seed=1)
    assert out.shape == (12, 4, 4, 3) and out.dtype == np.uint8
    picked = out[:, 0, 0, 0].astype(int)  # the image's value is its index
    assert len(set(picked.tolist())) == 12
    # three (class, source) groups get 4 each, not 12 of the majority class
    assert np.bincount(labels[picked], minlength=3).tolist() == [4, 4, 4]
    assert set(datasets[picked]) == {"fer2013", "jaffe"}


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


def test_conversion_crops_by_the_recipe_the_model_was_trained_with(tmp_path):
    import json

    from fer_convert.conversion import Source
    from fer_edge.contract.recipe import CropRecipe

    run = tmp_path / "run"
    run.mkdir()
    (run / "model.keras").write_bytes(b"stand-in")
    recorded = CropRecipe(32, 0.2, False)
    (run / "run.json").write_text(
        json.dumps({"crop": recorded.to_dict(), "parameters": {"image_size": 32}})
    )
    assert Source(run / "model.keras", run, None).recipe(32) == recorded  # the run's
    assert Source(run / "model.keras", None, None).recipe(32) == CropRecipe(32)  # no record
