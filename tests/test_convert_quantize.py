"""convert(): every mode, the card read back from the model, dynamic batch on the device runtime."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.skips import needs

needs("tensorflow")

from fer_convert.quantize import MODES, convert  # noqa: E402
from fer_edge.classify.runtime import Classifier, select_runtime  # noqa: E402
from fer_edge.contract.card import load_for_model, read_card, sha256_file  # noqa: E402
from fer_edge.contract.errors import ConfigError, ModelFileError  # noqa: E402
from fer_edge.contract.recipe import CropRecipe  # noqa: E402
from helpers.tiny_model import separable_set, train_tiny_keras  # noqa: E402

pytestmark = pytest.mark.tf


@pytest.fixture(scope="module")
def trained():
    return train_tiny_keras()


@pytest.fixture(scope="module")
def converted(trained, tmp_path_factory):
    """The trained tiny model converted in every mode (plus int8 with uint8 I/O)."""
    out_dir = tmp_path_factory.mktemp("converted")
    calibration, _ = separable_set(4, seed=3)
    source = {"training": {"epochs": 15}}
    crop = CropRecipe(32, 0.25, False)
    paths = {}
    for mode in MODES:
        paths[mode] = out_dir / f"m_{mode}.tflite"
        representative = calibration if mode == "int8" else None
        convert(trained, mode, paths[mode], representative, crop=crop, source=source)
    paths["uint8"] = out_dir / "m_uint8.tflite"
    convert(trained, "int8", paths["uint8"], calibration, crop=crop, source=source, uint8_io=True)
    return paths


def _tensor_details(path):
    interp = select_runtime().interpreter_class(model_path=str(path))
    return interp.get_input_details()[0], interp.get_output_details()[0]


@pytest.mark.parametrize(
    ("key", "io_dtype"),
    [
        ("int8", "int8"),
        ("uint8", "uint8"),
        ("float16", "float32"),
        ("dynamic-range", "float32"),
        ("float32", "float32"),
    ],
)
def test_card_matches_the_converted_tensors(converted, key, io_dtype):
    path = converted[key]
    card = load_for_model(path)  # validates the card and checks sha256
    assert card.sha256 == sha256_file(path)
    assert card.model_format == "tflite" and card.model_file == path.name
    assert card.mode == ("int8" if key == "uint8" else key)
    assert card.input_dtype == card.output_dtype == io_dtype
    inp, out = _tensor_details(path)
    assert list(inp["shape_signature"]) == [-1, 32, 32, 3]
    assert np.dtype(inp["dtype"]).name == io_dtype and np.dtype(out["dtype"]).name == io_dtype
    for detail, quant in ((inp, card.input_quantization), (out, card.output_quantization)):
        scale, zero = detail["quantization"]
        if io_dtype == "float32":
            assert quant is None
        else:
            assert quant.scale == pytest.approx(scale) and quant.zero_point == zero
    # the crop recipe the model was trained with
    assert (card.crop.size, card.crop.margin, card.crop.align) == (32, 0.25, False)
    assert card.training == {"epochs": 15}


def test_int8_pixels_quantise_onto_the_full_range(converted):
    card = read_card(converted["int8"].with_suffix(".json"))
    q = card.input_quantization
    # RGB 0..255 calibration: 0 maps to -128 and 255 to 127 (scale about 1)
    assert round(0 / q.scale) + q.zero_point == -128
    assert round(255 / q.scale) + q.zero_point == 127


def test_int8_is_smaller_than_float32(converted):
    assert converted["int8"].stat().st_size < converted["float32"].stat().st_size


@pytest.mark.parametrize("key", ["int8", "uint8", "float16", "dynamic-range", "float32"])
def test_device_runtime_runs_any_batch_and_agrees(converted, trained, key):
    images, labels = separable_set(5, seed=9)
    reference = np.asarray(trained(images.astype(np.float32))).argmax(1)
    classifier = Classifier(converted[key])
    one = classifier.predict(images[:1])
    five = classifier.predict(images[:5])
    everything = classifier.predict(images)
    assert one.shape == (1, 7) and five.shape == (5, 7) and everything.shape == (35, 7)
    np.testing.assert_allclose(five[:1], one, atol=1e-6)
    np.testing.assert_allclose(everything.sum(1), 1.0, atol=0.02)
    assert np.mean(everything.argmax(1) == reference) >= 0.97
    assert np.mean(everything.argmax(1) == labels) >= 0.97


def test_int8_without_calibration_writes_nothing(trained, tmp_path):
    out = tmp_path / "m.tflite"
    with pytest.raises(ConfigError, match="calibration"):
        convert(trained, "int8", out, None)
    with pytest.raises(ConfigError, match="RGB uint8"):
        convert(trained, "int8", out, np.zeros((2, 16, 16, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_bad_mode_and_wrong_model_shape(trained, tmp_path):
    import keras

    with pytest.raises(ConfigError, match="unknown conversion mode"):
        convert(trained, "int4", tmp_path / "m.tflite")
    inputs = keras.Input((32, 32, 3))
    wrong = keras.Model(inputs, keras.layers.Dense(5)(keras.layers.Flatten()(inputs)))
    with pytest.raises(ModelFileError, match="output"):
        convert(wrong, "float32", tmp_path / "m.tflite")
    assert list(tmp_path.iterdir()) == []


def test_corrupt_keras_file_is_one_line(tmp_path):
    bad = tmp_path / "model.keras"
    bad.write_bytes(b"not a zip archive")
    with pytest.raises(ModelFileError, match="not a loadable Keras model") as info:
        convert(bad, "float32", tmp_path / "m.tflite")
    assert "\n" not in str(info.value)
    with pytest.raises(ModelFileError, match="not found"):
        convert(tmp_path / "missing.keras", "float32", tmp_path / "m.tflite")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]
