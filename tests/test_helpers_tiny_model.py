"""The tiny TFLite model helper the device tests run a real int8 model with."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.skips import needs

needs("tensorflow")

from fer_edge.classify.runtime import Classifier  # noqa: E402
from helpers.tiny_model import make_tiny_tflite  # noqa: E402

pytestmark = pytest.mark.tf


def test_make_tiny_tflite_helper(tmp_path):
    path = make_tiny_tflite(tmp_path, size=32, mode="int8")
    assert path.is_file() and path.with_suffix(".json").is_file()
    assert Classifier(path).predict(np.zeros((2, 32, 32, 3), np.uint8)).shape == (2, 7)
