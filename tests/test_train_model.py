"""The ResNet50 classifier: in-graph preprocessing, safe-mode saving, offline weights error."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers.skips import needs

needs("tensorflow")

from click.testing import CliRunner  # noqa: E402

from fer_edge.contract.errors import FerError  # noqa: E402
from fer_train import model as model_lib  # noqa: E402
from fer_train.cli import main  # noqa: E402

pytestmark = pytest.mark.tf


def test_caffe_preprocess_layer_matches_keras_preprocess_input():
    keras = needs("keras")
    pixels = np.random.default_rng(0).uniform(0, 255, (2, 5, 5, 3)).astype(np.float32)
    layer = model_lib.caffe_preprocess_layer()
    got = np.asarray(layer(pixels))
    want = keras.applications.resnet50.preprocess_input(pixels.copy())
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert not layer.trainable


@pytest.mark.slow
def test_model_saves_without_optimizer_and_loads_in_safe_mode(tmp_path):
    keras = needs("keras")
    model = model_lib.build_model(32, "none")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(1).uniform(0, 255, (3, 32, 32, 3)).astype(np.float32)
    model.fit(x, np.array([0, 1, 2]), epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model_lib.save_model(model, path)
    loaded = keras.models.load_model(path)  # safe_mode=True: no Lambda layers
    assert getattr(loaded, "optimizer", None) is None
    assert loaded.input_shape == (None, 32, 32, 3) and loaded.output_shape == (None, 7)
    np.testing.assert_allclose(
        np.asarray(loaded(x, training=False)), np.asarray(model(x, training=False)), atol=1e-5
    )
    assert not list(tmp_path.glob(".model.keras.*"))


def test_fine_tune_unfreezes_conv5_only_and_keeps_batchnorm_frozen():
    keras = needs("keras")
    model = model_lib.build_model(32, "none")
    model_lib.freeze_base(model)
    assert not model_lib.backbone(model).trainable
    assert model_lib.unfreeze_top(model) > 0
    for layer in model_lib.backbone(model).layers:
        frozen = isinstance(layer, keras.layers.BatchNormalization)
        if frozen or not layer.name.startswith("conv5_"):
            assert not layer.trainable, layer.name


def test_imagenet_weights_offline_name_the_cache_file(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    # Offline here; elsewhere make sure the download cannot succeed either.
    monkeypatch.setattr(
        "keras.src.utils.file_utils.urlretrieve",
        lambda *a, **k: (_ for _ in ()).throw(OSError("network unreachable")),
        raising=False,
    )
    with pytest.raises(FerError) as info:
        model_lib.build_model(32, "imagenet")
    message = str(info.value)
    assert "\n" not in message
    assert f"~/.keras/models/{model_lib.WEIGHTS_FILE}" in message
    assert "--weights PATH" in message


def test_cli_weights_path_missing_is_one_line_error(tmp_path):
    from fer_train.synth import write_fer2013_csv

    csv_path = write_fer2013_csv(tmp_path / "fer2013.csv", per_class=2)
    result = CliRunner().invoke(
        main,
        ["fit", "--data", f"fer2013={csv_path}", "--out", str(tmp_path / "run"),
         "--image-size", "32", "--weights", str(tmp_path / "nope.h5"),
         "--cache-dir", str(tmp_path / "cache")],
    )  # fmt: skip
    assert result.exit_code == 78
    assert result.output.strip().count("\n") == 0
    assert "nope.h5: weights file not found" in result.output


@pytest.mark.slow
def test_mixed_precision_training_saves_a_float32_model_that_converts_to_int8(tmp_path):
    """What a GPU run produces: float16 compute must not reach model.keras or the converter."""
    import keras

    from fer_convert.quantize import convert
    from fer_edge.classify.runtime import Classifier

    pixels = np.random.default_rng(0).integers(0, 256, (16, 32, 32, 3)).astype(np.uint8)
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = model_lib.build_model(32, "none")
        assert model_lib.is_mixed_precision(model)
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        model.fit(pixels.astype(np.float32), np.arange(16) % 7, epochs=1, verbose=0)
        mixed = np.asarray(model(pixels.astype(np.float32), training=False), np.float32)
        model_lib.save_model(model, tmp_path / "model.keras")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    saved = keras.models.load_model(tmp_path / "model.keras", compile=False)  # Keras, unaided
    assert not model_lib.is_mixed_precision(saved)
    float32 = np.asarray(saved(pixels.astype(np.float32), training=False))
    np.testing.assert_allclose(float32, mixed, atol=2e-2)
    convert(saved, "int8", tmp_path / "m.tflite", pixels)
    agree = Classifier(tmp_path / "m.tflite").predict(pixels).argmax(1) == float32.argmax(1)
    assert agree.mean() >= 0.75


TWO_GPUS = """
import sys
from pathlib import Path

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras

from fer_train import devices, fit, workflow
from fer_train.synth import write_ckplus48, write_fer2013_csv


def two_gpus(precision="auto"):  # what setup_devices does on a machine with two GPUs
    keras.mixed_precision.set_global_policy("mixed_float16")
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    return devices.Devices("tensorflow", 2, "mixed_float16", 2, strategy)


fit.setup_devices = two_gpus
root = Path(sys.argv[1])
fer = write_fer2013_csv(root / "fer2013" / "fer2013.csv", per_class=8)
ck = write_ckplus48(root / "CK+48", subjects=6, per_subject=1)
params = fit.FitParams(image_size=32, weights="none", epochs=2, fine_tune_epochs=0, batch_size=8)
workflow.fit_run([("fer2013", fer), ("ckplus", ck)], root / "run", params)
"""


@pytest.mark.slow
def test_two_replicas_with_mixed_precision_train_and_save(tmp_path):
    """The multi-GPU path (MirroredStrategy + mixed_float16) on two logical CPUs.

    The validation split (13 images) is smaller than the global batch (16) and odd: Keras
    failed on such a first batch before :func:`fer_train.fit.even_batch`.
    """
    import subprocess
    import sys

    import keras

    result = subprocess.run(
        [sys.executable, "-c", TWO_GPUS, str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "run"
    assert json.loads((run / "run.json").read_text())["splits"]["val"] == 13
    stage = json.loads((run / "history.json").read_text())["stages"][0]
    assert len(stage["history"]["val_loss"]) == 2
    saved = keras.models.load_model(run / "model.keras", compile=False)
    assert not model_lib.is_mixed_precision(saved)


@pytest.mark.slow
def test_pretrained_weights_file_two_stage_fine_tuning(tmp_path):
    """``--weights PATH`` with a Keras-2-style no-top .h5 (the format of the ImageNet file).

    Stage 1 trains the head only; stage 2 trains conv5 with BatchNormalization frozen: conv1 and
    every BatchNorm statistic stay exactly as loaded, conv5 moves.
    """
    import h5py
    import keras
    from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group

    from fer_train.synth import write_fer2013_csv

    weights = tmp_path / "resnet50_notop.h5"
    reference = keras.applications.ResNet50(
        include_top=False, weights=None, input_shape=(32, 32, 3)
    )
    with h5py.File(weights, "w") as fh:
        save_weights_to_hdf5_group(fh, reference)
    fer = write_fer2013_csv(tmp_path / "fer2013" / "fer2013.csv", per_class=8)
    run = tmp_path / "run"
    result = CliRunner().invoke(
        main,
        ["fit", "--data", f"fer2013={fer}", "--out", str(run), "--image-size", "32",
         "--weights", str(weights), "--epochs", "1", "--fine-tune-epochs", "1",
         "--batch-size", "16", "--cache-dir", str(tmp_path / "cache")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    stages = json.loads((run / "history.json").read_text())["stages"]
    assert [s["stage"] for s in stages] == ["head", "fine-tune"]
    assert all(len(s["history"]["loss"]) == 1 for s in stages)
    trained = model_lib.backbone(model_lib.load_model(run / "model.keras"))

    def weights_of(model, name):
        return [np.asarray(w) for w in model.get_layer(name).weights]

    for name in ("conv1_conv", "conv4_block6_3_conv", "conv5_block3_3_bn", "conv2_block1_1_bn"):
        for got, want in zip(weights_of(trained, name), weights_of(reference, name), strict=True):
            np.testing.assert_array_equal(got, want, err_msg=name)
    moved = (
        weights_of(trained, "conv5_block3_3_conv")[0]
        - weights_of(reference, "conv5_block3_3_conv")[0]
    )
    assert np.abs(moved).max() > 0
