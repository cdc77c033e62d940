"""The default model in float: packing, restoring, and fine-tuning from it (``--weights``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from helpers import REPO
from helpers.skips import needs

needs("tensorflow")

from click.testing import CliRunner  # noqa: E402

from fer_edge.contract.card import ModelCard, load_for_model, sha256_file, write_card  # noqa: E402
from fer_edge.contract.errors import ModelFileError  # noqa: E402
from fer_edge.contract.labels import LABELS  # noqa: E402
from fer_edge.contract.recipe import CropRecipe  # noqa: E402
from fer_train import default_weights  # noqa: E402
from fer_train import model as model_lib  # noqa: E402
from fer_train.cli import main  # noqa: E402
from fer_train.predict import KerasPredictor  # noqa: E402
from fer_train.synth import write_face_folder  # noqa: E402

pytestmark = pytest.mark.tf

SHARED = REPO.parent / "shared" / "models" / "default"
SHARED_KERAS = SHARED / "fer-resnet50-96.keras"


@pytest.fixture(scope="module")
def shared_keras() -> Path:
    if not SHARED_KERAS.is_file():
        pytest.skip(
            f"the default model's float .keras is not at {SHARED_KERAS}: it is not in the "
            "repository (95 MB; the packed weights in train/data are made from it); copy it there "
            "to run these checks"
        )
    return SHARED_KERAS


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line_error(result, code: int, text: str) -> None:
    assert result.exit_code == code, result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    (line,) = result.output.strip().splitlines()
    assert line.startswith("fer-train: error:") and text in line, line


@pytest.fixture(scope="module")
def astronaut_crop(astronaut_bgr, yunet_model) -> np.ndarray:
    """The astronaut's face through the device's detector and the default crop recipe."""
    from fer_edge.faces.crop import crop_faces
    from fer_edge.faces.detect import create_detector

    faces = create_detector("yunet", yunet_model).detect(astronaut_bgr)
    return crop_faces(astronaut_bgr, faces[:1], CropRecipe(96))[0]


def face_inputs(crop: np.ndarray, n: int = 200, seed: int = 0) -> np.ndarray:
    """Real-looking 96 px inputs: ``crop`` as is, then at varied scale, rotation, shift and
    brightness, mirrored half the time; plus a few random images."""
    import cv2

    rng = np.random.default_rng(seed)
    out = [crop]
    for i in range(n - 1):
        turn = cv2.getRotationMatrix2D((48, 48), rng.uniform(-20, 20), rng.uniform(0.8, 1.2))
        turn[:, 2] += rng.uniform(-8, 8, 2)
        face = cv2.warpAffine(
            crop.astype(np.float32), turn, (96, 96), borderMode=cv2.BORDER_REFLECT
        )
        face = face * rng.uniform(0.6, 1.4) + rng.uniform(-30, 30)
        out.append(np.clip(face[:, ::-1] if i % 2 else face, 0, 255).astype(np.uint8))
    noise = rng.integers(0, 256, (n // 4, 96, 96, 3), dtype=np.uint8)
    return np.concatenate([np.stack(out), noise])


def test_packed_default_restores_the_shipped_float_model(shared_keras, astronaut_crop):
    """Restored vs the shipped .keras: identical weights, identical outputs.

    The packer records the largest change the float16 cast made to a kernel; for this model it
    is 0 (its kernels are already exact in float16), so the restored model is the same model
    and only float32 operation order could make outputs differ: max |Δp| 1e-5 allows that and
    nothing else (int8 vs float differs by 0.008 on average, 0.21 at most).
    """
    manifest = default_weights.read_manifest()
    assert manifest["source"]["keras_sha256"] == sha256_file(shared_keras)
    assert manifest["max_abs_cast_error"] == 0.0
    restored = default_weights.load_default()
    shipped = model_lib.load_model(shared_keras)
    for mine, theirs in zip(restored.weights, shipped.weights, strict=True):
        assert mine.path == theirs.path
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs), err_msg=mine.path)
    images = face_inputs(astronaut_crop)
    p_restored = KerasPredictor(restored).predict(images)
    p_shipped = KerasPredictor(shipped).predict(images)
    assert np.abs(p_restored - p_shipped).max() <= 1e-5
    assert (p_restored.argmax(1) == p_shipped.argmax(1)).all()
    assert p_restored[0, LABELS.index("happy")] > 0.9  # the model card: happy 0.992


def test_packing_is_reproducible_and_refuses_a_float16_overflow(tmp_path):
    """A small model packs, restores within float16 rounding, and packs to the same bytes;
    a kernel beyond float16's range is refused, nothing written."""
    model = model_lib.build_model(32, "none")
    src = tmp_path / "src"
    src.mkdir()
    model_lib.save_model(model, src / "m.keras")
    card = ModelCard("m.tflite", "tflite", "0" * 64, CropRecipe(32))
    write_card(card, src / "m.json")
    out = tmp_path / "out" / "packed.npz"
    manifest = default_weights.pack(src / "m.keras", src / "m.json", out)
    assert manifest["sha256"] == sha256_file(out) and manifest["image_size"] == 32
    dtypes = {name: dtype for name, dtype, _ in manifest["weights"]}
    assert dtypes["conv1_conv/kernel"] == "float16" and dtypes["expression/kernel"] == "float16"
    assert (
        dtypes["conv1_bn/moving_variance"] == "float32" and dtypes["conv1_conv/bias"] == "float32"
    )
    assert dtypes["caffe_preprocess/kernel"] == "float32"
    restored = default_weights.load_default(out.with_suffix(".json"))
    for mine, theirs in zip(restored.weights, model.weights, strict=True):
        np.testing.assert_allclose(np.asarray(mine), np.asarray(theirs), rtol=1e-3, atol=1e-7)
    again = default_weights.pack(src / "m.keras", src / "m.json", tmp_path / "again.npz")
    assert again["sha256"] == manifest["sha256"]

    kernel = model.get_layer("expression").kernel
    kernel.assign(np.full(kernel.shape, 1e6, np.float32))
    model_lib.save_model(model, src / "m.keras")
    with pytest.raises(ModelFileError, match=r"expression/kernel does not fit float16"):
        default_weights.pack(src / "m.keras", src / "m.json", tmp_path / "bad.npz")
    assert not (tmp_path / "bad.npz").exists()


@pytest.fixture
def broken_default(tmp_path, monkeypatch):
    """The shipped manifest in a folder whose packed file the test breaks."""
    folder = tmp_path / "data"
    folder.mkdir()
    manifest = folder / default_weights.MANIFEST.name
    shutil.copy(default_weights.MANIFEST, manifest)
    monkeypatch.setattr(default_weights, "MANIFEST", manifest)
    return folder / default_weights.PACKED.name


@pytest.fixture
def faces(tmp_path, head_bgr) -> Path:
    return write_face_folder(tmp_path / "faces", head_bgr, per_class=2)


def test_missing_or_corrupt_default_is_one_line_and_writes_nothing(broken_default, faces):
    out = faces.parent / "run"
    args = ("fit", "--data", f"folder={faces}", "--out", out, "--weights", "default")
    one_line_error(invoke(*args), 1, "the default model's weights are missing")
    broken_default.write_bytes(b"not weights")
    one_line_error(invoke(*args), 1, "sha256 does not match its manifest; the file is corrupt")
    with pytest.raises(ModelFileError, match="corrupt"):
        default_weights.load_default()
    assert not out.exists()


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
