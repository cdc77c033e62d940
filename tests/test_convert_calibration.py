"""Calibration images: stratified by class and source."""

from __future__ import annotations

import numpy as np

from fer_convert import calibration
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
