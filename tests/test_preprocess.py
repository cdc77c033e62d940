"""The pixel contract: quantisation of crops."""

from __future__ import annotations

import numpy as np
import pytest

from fer_edge.contract.preprocess import dequantize, quantize, to_model_input


def test_int8_quantisation_of_pixels_is_exact_for_unit_scale():
    crops = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1).repeat(3, axis=3)
    q = to_model_input(crops, "int8", 1.0, -128)
    assert q.dtype == np.int8 and q.min() == -128 and q.max() == 127
    np.testing.assert_array_equal(dequantize(q, 1.0, -128), crops.astype(np.float32))


def test_quantise_clips_and_float_passes_through():
    assert quantize(np.array([-1000.0, 1000.0]), "int8", 0.5, 0).tolist() == [-128, 127]
    crops = np.full((2, 4, 4, 3), 200, np.uint8)
    out = to_model_input(crops, "float32")
    assert out.dtype == np.float32 and float(out.max()) == 200.0
    with pytest.raises(ValueError):
        to_model_input(crops.astype(np.float32), "float32")
    with pytest.raises(ValueError):
        to_model_input(crops, "int8")
