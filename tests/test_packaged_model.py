"""The expression model packaged with fer_edge: golden result, defaults, prior correction."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from fer_edge.classify import packaged_model
from fer_edge.classify.prior import correct, training_prior
from fer_edge.classify.runtime import Classifier
from fer_edge.classify.shares import DEFAULT_METHOD, ShareEstimator
from fer_edge.cli import main
from fer_edge.contract.card import ModelCard, read_card, sha256_file
from fer_edge.contract.errors import CardError
from fer_edge.contract.labels import LABELS
from fer_edge.contract.recipe import CropRecipe
from fer_edge.faces.crop import crop_faces
from fer_edge.faces.detect import create_detector
from fer_edge.faces.tracker import IouTracker
from fer_edge.frame_pipeline import FramePipeline
from fer_edge.record.jsonl import read_records
from helpers.clips import START, write_face_clip

PACKAGED = packaged_model.default_model_path()


@pytest.fixture(scope="module")
def classifier():
    return Classifier(PACKAGED)


@pytest.fixture(scope="module")
def astronaut_crop(astronaut_bgr, yunet_model, classifier):
    faces = create_detector("yunet", yunet_model, 0.6, 0).detect(astronaut_bgr)
    assert len(faces) == 1
    return crop_faces(astronaut_bgr, faces, classifier.card.crop)


@pytest.fixture(scope="module")
def clip(tmp_path_factory, head_bgr):
    return write_face_clip(tmp_path_factory.mktemp("clip") / "faces.avi", head_bgr, 20, side=80)


def test_golden_astronaut_is_happy(classifier, astronaut_crop):
    probs = classifier.predict(astronaut_crop)[0]
    assert LABELS[int(np.argmax(probs))] == "happy"
    assert probs[LABELS.index("happy")] >= 0.9  # the model card measured 0.992
    assert probs.sum() == pytest.approx(1.0, abs=0.02)


def test_packaged_card_describes_the_shipped_weights():
    card = read_card(PACKAGED.with_suffix(".json"))
    assert card.sha256 == sha256_file(PACKAGED)
    assert (card.mode, card.input_size, card.labels) == ("int8", 96, LABELS)
    # trained without class weights on FER+ majority labels: its outputs need no prior correction
    assert card.training["class_weights"] == "none" and card.training["label_mode"] == "majority"
    assert training_prior(card) is None
    assert sum(card.class_prior) == pytest.approx(1.0, abs=0.01)
    assert "non-commercial" in card.about["licence"] and "MIT" in card.about["licence"]
    assert card.about["not_validated_on"]
    assert card.about["lineage"]["parent"]["sha256"] != card.sha256


def test_prior_correction_is_p_times_prior_renormalised():
    probs = np.array([[0.5, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05], [1 / 7] * 7], np.float32)
    prior = np.array([0.1, 0.05, 0.1, 0.4, 0.15, 0.15, 0.05], np.float32)
    out = correct(probs, prior)
    expected = probs * prior / (probs * prior).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    np.testing.assert_allclose(out[1], prior, rtol=1e-6)  # a uniform answer becomes the prior
    assert int(np.argmax(out[0])) == 0 and out[0, 0] < probs[0, 0]


PRIOR = {"anger": 0.141, "disgust": 0.018, "fear": 0.14, "happy": 0.259, "neutral": 0.175,
         "sadness": 0.172, "surprise": 0.096}  # fmt: skip


def _weighted_card(class_weights: str = "balanced") -> ModelCard:
    """A tiny card of a model trained with class weights (the packaged one has none)."""
    training = {"class_prior": dict(PRIOR), "class_weights": class_weights}
    return ModelCard("m.tflite", "tflite", "ab" * 32, CropRecipe(32), training=training)


def test_prior_applies_only_to_balanced_weight_models():
    card = _weighted_card()
    prior = training_prior(card)
    assert prior is not None and prior.sum() == pytest.approx(1.0)
    assert prior[LABELS.index("happy")] == pytest.approx(0.259 / 1.001, abs=1e-4)
    card.training["class_weights"] = "none"
    assert training_prior(card) is None
    assert training_prior(ModelCard("m.tflite", "tflite", "ab" * 32, CropRecipe(32))) is None


def test_sqrt_weight_models_are_corrected_by_the_square_root_of_the_prior():
    """Square-root class weights leave an implied prior ∝ √π: multiplying by √π restores π."""
    card = _weighted_card()
    pi = np.asarray(card.class_prior, np.float64)
    pi /= pi.sum()
    card.training["class_weights"] = "sqrt"
    factor = training_prior(card)
    np.testing.assert_allclose(factor, np.sqrt(pi) / np.sqrt(pi).sum(), rtol=1e-5)
    likelihood = np.random.default_rng(0).random((5, len(LABELS)))
    answered = likelihood * np.sqrt(pi)  # what a sqrt-weighted model answers
    answered /= answered.sum(axis=1, keepdims=True)
    natural = likelihood * pi
    natural /= natural.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(correct(answered, factor), natural, rtol=1e-5)


def test_a_bad_class_prior_in_a_card_is_refused(tmp_path):
    data = json.loads(PACKAGED.with_suffix(".json").read_text())
    data["training"]["class_prior"] = {"happy": 1.0}
    with pytest.raises(CardError, match="class_prior"):
        ModelCard.from_dict(data, "x.json")


class _Uniformish:
    """A classifier answering the same probabilities for every crop."""

    def __init__(self, probs):
        self.card = ModelCard("m.tflite", "tflite", "ab" * 32, CropRecipe(32))
        self.probs = np.asarray(probs, np.float32)

    def predict(self, crops):
        return np.repeat(self.probs[None], len(crops), axis=0)


class _OneFace:
    name = "one"

    def detect(self, frame):
        from fer_edge.faces.detect import Face

        return [Face((10, 10, 40, 40), 0.9)]


def test_the_pipeline_passes_raw_probabilities_and_the_estimator_corrects():
    """Prior correction happens in one place: the share estimator (cc/pcc), not per face."""
    probs = [0.3, 0.0, 0.0, 0.25, 0.15, 0.3, 0.0]
    prior = dict(zip(LABELS, [0.1, 0.05, 0.1, 0.4, 0.15, 0.15, 0.05], strict=True))
    frame = np.zeros((100, 100, 3), np.uint8)
    pipeline = FramePipeline(_OneFace(), _Uniformish(probs), IouTracker())
    ((_, label, conf, _, smoothed, side),) = pipeline.process(0.0, frame)
    assert label in (0, 5) and conf == pytest.approx(0.3)
    np.testing.assert_allclose(smoothed, probs, atol=1e-6)
    assert side == pytest.approx(40 * (1 + 2 * pipeline.recipe.margin))
    card = ModelCard(
        "m.tflite", "tflite", "ab" * 32, CropRecipe(32),
        training={"class_prior": prior, "class_weights": "balanced"},
    )  # fmt: skip
    rows = np.array([smoothed] * 5)
    corrected = ShareEstimator(card, "cc", prior_correction=True).estimate(rows)
    plain = ShareEstimator(card, "cc", prior_correction=False).estimate(rows)
    assert corrected.shares[LABELS.index("happy")] == 1.0
    assert corrected.shares.argmax() == int(np.argmax(correct(rows, training_prior(card))[0]))
    assert plain.shares[LABELS.index("happy")] == 0.0


def _run(tmp_path, clip, yunet_model, *extra):
    logs = tmp_path / "logs"
    args = ["run", "--camera", str(clip), "--face-model", str(yunet_model), "--window", "1"]
    args += ["--start-time", START, "--log-dir", str(logs), *extra]
    return CliRunner().invoke(main, args), logs


def test_the_daemon_runs_with_no_model_given(tmp_path, clip, yunet_model):
    result, logs = _run(tmp_path, clip, yunet_model)
    assert result.exit_code == 0, result.output
    records = list(read_records(logs))
    assert len(records) == 2
    sha = sha256_file(PACKAGED)
    for r in records:
        assert r["model_sha256"] == sha and r["estimator"] == DEFAULT_METHOD
        assert r["prior_correction"] is False  # a calibrated estimator uses raw outputs
        assert not r["suppressed"] and max(r["shares"], key=r["shares"].get) == "happy"
        assert r["intervals"]["happy"][0] <= r["shares"]["happy"] <= r["intervals"]["happy"][1]
    cc, logs_cc = _run(tmp_path / "cc", clip, yunet_model, "--estimator", "cc")
    assert cc.exit_code == 0, cc.output
    # the packaged model was trained without class weights: nothing to correct, even for cc
    cc_records = list(read_records(logs_cc))
    assert cc_records and all(r["estimator"] == "cc" for r in cc_records)
    assert all(r["prior_correction"] is False for r in cc_records)
    off, logs_off = _run(
        tmp_path / "off", clip, yunet_model, "--estimator", "cc", "--no-prior-correction"
    )
    assert off.exit_code == 0, off.output
    assert all(r["prior_correction"] is False for r in read_records(logs_off))


def test_the_device_run_imports_no_tensorflow(tmp_path, clip, yunet_model):
    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom fer_edge.cli import main\n"
        f"r = CliRunner().invoke(main, ['run', '--camera', {str(clip)!r}, '--face-model', "
        f"{str(yunet_model)!r}, '--log-dir', {str(tmp_path)!r}, '--max-frames', '3'])\n"
        "assert r.exit_code == 0, r.output\n"
        "sys.exit(3 if any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules) "
        "else 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]


@pytest.fixture
def packaged_copy(tmp_path, monkeypatch):
    """The packaged model folder copied where a test may break it."""
    folder = tmp_path / "models"
    shutil.copytree(packaged_model.models_dir(), folder)
    monkeypatch.setattr(packaged_model, "models_dir", lambda: folder)
    return folder / PACKAGED.name


def test_a_packaged_model_that_does_not_match_its_card_exits_78(
    tmp_path, clip, yunet_model, packaged_copy
):
    with open(packaged_copy, "r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00" * 16)
    result, logs = _run(tmp_path, clip, yunet_model)
    assert result.exit_code == 78
    assert "does not match its model card" in result.output
    assert result.output.count("\n") == 1 and list(logs.iterdir()) == []  # nothing written


@pytest.mark.parametrize("missing", [".tflite", ".json"])
def test_a_missing_packaged_file_exits_78_in_one_line(
    tmp_path, clip, yunet_model, packaged_copy, missing
):
    packaged_copy.with_suffix(missing).unlink()
    result, logs = _run(tmp_path, clip, yunet_model)
    assert result.exit_code == 78
    assert "packaged default model is missing" in result.output and missing in result.output
    assert result.output.count("\n") == 1 and list(logs.iterdir()) == []  # nothing written


@pytest.mark.parametrize("name", ["model.keras", "model.h5", "run"])
def test_a_keras_model_or_run_is_refused_with_how_to_convert_it(tmp_path, clip, name):
    keras = tmp_path / name
    if name == "run":
        keras.mkdir()
        (keras / "model.keras").write_bytes(b"PK")
    else:
        keras.write_bytes(b"PK")
    (tmp_path / "model_card.json").write_text("{}")
    run = ["run", "--camera", str(clip), "--detector", "haar", "--log-dir", str(tmp_path / "l")]
    for args in (["models", "info"], run):
        result = CliRunner().invoke(main, [*args, "--model", str(keras)])
        assert result.exit_code == 78, result.output
        (line,) = [x for x in result.output.splitlines() if x.startswith("fer-edge: error:")]
        assert f"{keras}: a Keras training model" in line
        assert f"convert it first with `fer-convert {keras} --int8`" in line


def test_models_info_shows_the_model_its_data_and_terms():
    result = CliRunner().invoke(main, ["models", "info"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "packaged default model" in out and ", ".join(LABELS) in out
    assert "96x96" in out and "int8" in out and "ferplus, ckplus, jaffe, fer2013" in out
    assert "held out fer2013" in out and "59.1%" in out and "non-commercial" in out
    assert "label mode" in out and "majority" in out and "MIT" in out
    assert "by face size" in out and "20 px 63.6%, 24 px 67.9%" in out
    assert "parent" in out and "496c18c92419" in out  # the previous default's sha256
    assert "classroom footage" in out
    assert "  held out ferplus float: 76.0%" in out  # the longest heading, then a space
    headed = [line for line in out.splitlines() if line.startswith("  ")]
    # every value starts in one column
    assert len({len(line) - len(line[line.index(":") + 1 :].lstrip()) for line in headed}) == 1


def test_models_alone_lists_the_models_one_line_each():
    result = CliRunner().invoke(main, ["models"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 3 and "models info" in lines[2]
    assert lines[0].startswith("expression model: the packaged default model")
    assert "(int8, 96 px, 7 classes, 24." in lines[0]
    assert lines[1].startswith("face detector:") and "YuNet" in lines[1]
    assert "non-commercial" not in result.output  # the card's details are for `models info`


def test_the_runtimes_native_start_line_stays_out_of_the_users_stderr(capfd, caplog):
    caplog.set_level("DEBUG", logger="fer_edge.classify.runtime")
    Classifier(PACKAGED)
    assert "XNNPACK" not in capfd.readouterr().err
    routine = [r for r in caplog.records if "XNNPACK delegate" in r.getMessage()]
    assert all(r.levelname == "DEBUG" for r in routine)


def test_other_native_stderr_output_is_logged_as_a_warning(caplog):
    import os

    from fer_edge.classify.runtime import native_stderr_to_log

    with native_stderr_to_log():
        os.write(2, b"ERROR: something the runtime wants said\n")
    (record,) = [r for r in caplog.records if "wants said" in r.getMessage()]
    assert record.levelname == "WARNING"


def test_native_lines_keep_their_own_severity_and_info_chatter_is_debug(caplog):
    import os

    from fer_edge.classify.runtime import native_stderr_to_log

    caplog.set_level("DEBUG", logger="fer_edge.classify.runtime")
    printed = [  # what TensorFlow's GPU build prints at import on a machine without CUDA
        "I0000 00:00:1796063319.236023 6016 cudart_stub.cc:31] Could not find cuda drivers on "
        "your machine, GPU will not be used.",
        "I0000 00:00:1796063319.236023 6016 cpu_feature_guard.cc:227] This TensorFlow binary "
        "is optimized to use available CPU instructions in performance-critical operations.",
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow",
        "2023-05-01 12:17:26.572682: W tensorflow/compiler/tf2tensorrt/utils/py_utils.cc:38] "
        "TF-TRT Warning: Could not find TensorRT",
        "E0000 00:00:1796063319.5 6016 cuda_executor.cc:1] failed call to cuInit",
        "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
        "something untagged after a routine line",
    ]
    with native_stderr_to_log():
        os.write(2, ("\n".join(printed) + "\n").encode())
    levels = [r.levelname for r in caplog.records if r.getMessage().startswith("runtime: ")]
    assert levels == ["DEBUG", "DEBUG", "DEBUG", "WARNING", "ERROR", "DEBUG", "WARNING"]
