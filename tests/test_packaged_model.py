"""The expression model packaged with fer_edge: golden result, its card, running with no model
given, a broken or missing packaged file, a Keras model refused."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from fer_edge.classify import packaged_model
from fer_edge.classify.prior import training_prior
from fer_edge.classify.runtime import Classifier
from fer_edge.classify.shares import DEFAULT_METHOD
from fer_edge.cli import main
from fer_edge.contract.card import read_card, sha256_file
from fer_edge.contract.labels import LABELS
from fer_edge.faces.crop import crop_faces
from fer_edge.faces.detect import create_detector
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
