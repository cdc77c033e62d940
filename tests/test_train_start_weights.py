"""What fine-tuning starts from (``--weights default`` or ``--weights PATH.keras``): a model
that is not a fer classifier refused in one line; a run from the default or a .keras keeps its
labels, crop and lineage, trains the top only, and carries the prior through fer-convert."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from helpers.skips import needs
from helpers.training import SHARED_KERAS, face_inputs, invoke, one_line_error

needs("tensorflow")

from click.testing import CliRunner  # noqa: E402

from fer_edge.contract.card import load_for_model, sha256_file  # noqa: E402
from fer_edge.contract.labels import LABELS  # noqa: E402
from fer_edge.contract.recipe import CropRecipe  # noqa: E402
from fer_train import default_weights  # noqa: E402
from fer_train import model as model_lib  # noqa: E402
from fer_train.predict import KerasPredictor  # noqa: E402
from fer_train.synth import write_face_folder  # noqa: E402

pytestmark = pytest.mark.tf


@pytest.fixture(scope="module")
def shared_keras() -> Path:
    if not SHARED_KERAS.is_file():
        pytest.skip(
            f"the default model's float .keras is not at {SHARED_KERAS}: it is not in the "
            "repository (95 MB; the packed weights in train/data are made from it); copy it there "
            "to run these checks"
        )
    return SHARED_KERAS


def test_weights_keras_that_is_not_a_fer_model(tmp_path, faces):
    from helpers.tiny_model import build_tiny_keras

    path = tmp_path / "tiny.keras"
    build_tiny_keras(32).save(path)
    out = tmp_path / "run"
    args = ("fit", "--data", f"folder={faces}", "--out", out)
    result = invoke(*args, "--weights", path)
    one_line_error(result, 1, "not a fer model (no caffe_preprocess, resnet50")
    path.write_bytes(b"PK not a zip")
    one_line_error(invoke(*args, "--weights", path), 1, "not a loadable Keras model")
    one_line_error(invoke(*args, "--weights", tmp_path / "no.keras"), 78, "model file not found")
    assert not out.exists()


@pytest.fixture(scope="module")
def tuned(tmp_path_factory, head_bgr, yunet_model):
    """``fit --weights default`` for 1 + 1 epochs on 28 generated face photos (~20 s)."""
    root = tmp_path_factory.mktemp("tune")
    faces = write_face_folder(root / "faces", head_bgr, per_class=4)
    run = root / "run"
    common = ("--data", f"folder={faces}", "--detector", "yunet", "--face-model", yunet_model,
              "--cache-dir", root / "cache", "--batch-size", 16)  # fmt: skip
    result = invoke("fit", *common, "--out", run, "--weights", "default", "--epochs", 1,
                    "--fine-tune-epochs", 1)  # fmt: skip
    assert result.exit_code == 0, result.output
    return SimpleNamespace(root=root, faces=faces, run=run, common=common)


@pytest.mark.slow
def test_fit_from_default_keeps_labels_crop_and_records_the_start(tuned):
    card = load_for_model(tuned.run / "model.keras")
    manifest = default_weights.read_manifest()
    assert list(card.labels) == list(LABELS) == manifest["labels"]
    assert card.crop == default_weights.default_crop(manifest) == CropRecipe(96, 0.15, True)
    start = card.training["start"]
    assert start["weights"] == "default" and start["sha256"] == manifest["sha256"]
    assert start["packed_from_keras_sha256"] == manifest["source"]["keras_sha256"]
    composition = json.loads((tuned.run / "composition.json").read_text())
    counts = composition["datasets"]["folder"]["counts"]
    train = np.array([counts[label]["train"] for label in LABELS], float)
    prior = card.training["class_prior"]
    assert list(prior) == list(LABELS)
    np.testing.assert_allclose(list(prior.values()), train / train.sum(), atol=5e-5)
    assert card.training["class_weights"] == "balanced"
    run = json.loads((tuned.run / "run.json").read_text())
    assert run["parameters"]["image_size"] == 96 and run["parameters"]["weights"] == "default"


@pytest.mark.slow
def test_fit_from_default_keeps_the_parents_lineage_and_no_local_path(tuned):
    """The parent's datasets and held-out subjects travel in the card (so evaluate never calls
    a subject the default trained on unseen); datasets are described, never located."""
    from fer_edge.classify.packaged_model import default_model_path
    from fer_edge.contract.card import read_card

    parent = read_card(default_model_path().with_suffix(".json")).training
    card = load_for_model(tuned.run / "model.keras")
    names = [(d["name"], d.get("via")) for d in card.training["datasets"]]
    assert names[0] == ("folder", None)
    assert {n for n, via in names if via == "parent"} == {d["name"] for d in parent["datasets"]}
    assert card.training["parent"]["held_out_subjects"] == parent["held_out_subjects"]
    assert card.training["held_out_subjects"]["ckplus"] == parent["held_out_subjects"]["ckplus"]
    assert card.training["label_mode"] == "majority" and card.training["repeat"] == {}
    composition = json.loads((tuned.run / "composition.json").read_text())
    assert composition["label_mode"] == "majority" and composition["repeat"] == {}
    text = json.dumps(card.to_dict())
    assert str(tuned.root) not in text and str(Path.home()) not in text
    assert card.source["run"] == tuned.run.name


@pytest.mark.slow
def test_fit_from_default_trains_the_top_and_keeps_the_rest(tuned, astronaut_crop):
    """conv5 and the head moved; everything below conv5 and every BatchNorm statistic kept."""
    start = default_weights.load_default()
    tuned_model = model_lib.load_model(tuned.run / "model.keras")

    def weights(model, name):
        layer = model.get_layer(name) if name == "expression" else model_lib.backbone(model)
        layer = layer if name == "expression" else layer.get_layer(name)
        return [np.asarray(w) for w in layer.weights]

    for name in ("conv1_conv", "conv4_block6_3_conv", "conv5_block3_3_bn", "conv2_block1_1_bn"):
        for got, want in zip(weights(tuned_model, name), weights(start, name), strict=True):
            np.testing.assert_array_equal(got, want, err_msg=name)
    for name in ("conv5_block3_3_conv", "expression"):
        assert np.abs(weights(tuned_model, name)[0] - weights(start, name)[0]).max() > 0, name
    images = face_inputs(astronaut_crop, n=32)
    p_tuned = KerasPredictor(tuned_model).predict(images)
    p_start = KerasPredictor(start).predict(images)
    assert np.abs(p_tuned - p_start).max() > 1e-4  # it trained
    np.testing.assert_allclose(p_tuned.sum(axis=1), 1.0, atol=1e-4)  # and stays a classifier
    assert np.abs(p_tuned - p_start).mean() < 0.2  # one epoch at a low rate: no collapse


@pytest.mark.slow
def test_fit_from_default_refuses_another_size_and_resumes(tuned):
    result = invoke("fit", *tuned.common, "--out", tuned.root / "r64", "--weights", "default",
                    "--image-size", 64)  # fmt: skip
    one_line_error(result, 78, "--image-size 64 conflicts with the starting model")
    again = invoke("fit", *tuned.common, "--out", tuned.run, "--weights", "default", "--epochs",
                   1, "--fine-tune-epochs", 1, "--resume")  # fmt: skip
    assert again.exit_code == 0, again.output
    stages = json.loads((tuned.run / "history.json").read_text())["stages"]
    assert [(s["stage"], s.get("resumed")) for s in stages] == [
        ("head", True),
        ("fine-tune", True),
    ]


@pytest.mark.slow
def test_fit_from_a_keras_model_then_convert_carries_the_prior(tuned, shared_keras, tmp_path):
    """``--weights PATH.keras`` (the shipped float model, no card beside it); fer-convert's card
    keeps the training record, prior and class weighting included."""
    from fer_convert.cli import main as convert_main

    run = tmp_path / "run"
    result = invoke("fit", *tuned.common, "--out", run, "--weights", shared_keras, "--epochs", 1,
                    "--fine-tune-epochs", 0)  # fmt: skip
    assert result.exit_code == 0, result.output
    card = load_for_model(run / "model.keras")
    assert card.input_size == 96 and list(card.labels) == list(LABELS)
    assert card.training["start"]["sha256"] == sha256_file(shared_keras)
    converted = CliRunner().invoke(convert_main, [str(run)])  # float32, the default mode
    assert converted.exit_code == 0, converted.output
    tflite_card = load_for_model(run / "model_float32.tflite")
    for key in ("class_prior", "class_weights", "start"):
        assert tflite_card.training[key] == card.training[key], key
