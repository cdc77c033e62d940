"""``fer-train`` end to end on a tiny synthetic set in the real formats, and its options.

One run is trained from scratch per module (slow) and shared: fit, evaluate (.keras and an int8
.tflite converted elsewhere), predict. The option tests (presets, FitParams ranges, face sizes)
replace the training with a fake and run without TensorFlow.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from fer_edge.contract.card import load_for_model
from fer_edge.contract.labels import LABELS
from fer_train.cli import main
from fer_train.synth import pattern, write_ckplus48, write_fer2013_csv
from helpers.skips import requires


def tf(test):
    """``test`` marked ``tf`` and skipped without TensorFlow (the option tests run without it)."""
    return pytest.mark.tf(requires("tensorflow")(test))


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@tf
def test_fit_rejects_unknown_kind_and_missing_path(tmp_path):
    result = invoke("fit", "--data", "affectnet=/x", "--out", tmp_path)
    assert result.exit_code == 78 and "unknown dataset kind 'affectnet'" in result.output
    result = invoke("fit", "--data", f"jaffe={tmp_path}/no", "--out", tmp_path)
    assert result.exit_code == 78 and "dataset path not found" in result.output


@tf
def test_version_and_every_out_option_has_help():
    from fer_train import __version__

    result = invoke("--version")
    assert result.exit_code == 0 and result.output == f"fer-train, version {__version__}\n"
    for command in ("fit", "evaluate", "compare"):
        (out,) = [p for p in main.commands[command].params if p.name == "out"]
        assert out.help, command


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 64 px from-scratch run on synthetic FER2013 (CSV) + CK+48, 8 epochs."""
    root = tmp_path_factory.mktemp("train")
    fer = write_fer2013_csv(root / "fer2013" / "fer2013.csv", per_class=16)
    ck = write_ckplus48(root / "CK+48", subjects=6, per_subject=2)
    run, cache = root / "run", root / "cache"
    result = invoke(
        "fit", "--data", f"fer2013={fer.parent}", "--data", f"ckplus={ck}", "--out", run,
        "--image-size", 64, "--weights", "none", "--epochs", 8, "--fine-tune-epochs", 0,
        "--batch-size", 16, "--cache-dir", cache,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return SimpleNamespace(root=root, fer=fer, ck=ck, run=run, cache=cache)


def evaluate(trained, model, out):
    result = invoke(
        "evaluate", model, "--data", f"fer2013={trained.fer}", "--data", f"ckplus={trained.ck}",
        "--out", out, "--cache-dir", trained.cache,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads((out / "report.json").read_text())["datasets"]


@tf
@pytest.mark.slow
def test_fit_writes_the_run_folder(trained):
    run = trained.run
    for name in ("model.keras", "model_card.json", "composition.json", "history.json", "run.json"):
        assert (run / name).is_file(), name
    card = load_for_model(run / "model.keras")
    assert card.model_format == "keras" and card.input_size == 64
    comp = json.loads((run / "composition.json").read_text())
    assert comp["datasets"]["fer2013"]["counts"]["happy"] == {"train": 12, "val": 2, "test": 2}
    held = json.loads((run / "run.json").read_text())["held_out_subjects"]
    assert held["ckplus"]["test"] and card.training["held_out_subjects"] == held
    # the share estimators' calibration, measured on the validation split at the device's sizes
    sizes = card.calibration["sizes"]
    assert set(sizes) == {"native", "24", "32", "48"}
    assert 0 < sizes["native"]["n"] <= json.loads((run / "run.json").read_text())["splits"]["val"]
    again = invoke("fit", "--data", f"fer2013={trained.fer}", "--out", run, "--weights", "none")
    assert again.exit_code == 78 and "already holds a trained model" in again.output


@tf
@pytest.mark.slow
def test_evaluate_keras_model(trained, tmp_path):
    report = evaluate(trained, trained.run / "model.keras", tmp_path)
    held = json.loads((trained.run / "run.json").read_text())["held_out_subjects"]
    assert report["fer2013"]["split"] == "test" and report["fer2013"]["n"] == 14
    assert report["ckplus"]["split"].startswith("held-out test subjects")
    assert report["ckplus"]["n"] == 6 * 2 * len(held["ckplus"]["test"])
    assert set(report["fer2013"]["per_class"]) == set(LABELS)
    assert sum(map(sum, report["fer2013"]["confusion"])) == 14
    assert report["fer2013"]["accuracy"] > 1 / 7 + 0.1, report["fer2013"]
    assert (tmp_path / "confusion-fer2013.png").read_bytes()[:4] == b"\x89PNG"


@tf
@pytest.mark.slow
def test_evaluate_sample_is_seeded_and_said(trained, tmp_path):
    """``--sample N``: N random images of a larger part, the same ones every time."""
    reports = []
    for out in ("a", "b"):
        result = invoke(
            "evaluate", trained.run / "model.keras", "--data", f"fer2013={trained.fer}",
            "--out", tmp_path / out, "--cache-dir", trained.cache, "--sample", 5,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        reports.append(json.loads((tmp_path / out / "report.json").read_text())["datasets"])
    fer = reports[0]["fer2013"]
    assert fer["n"] == 5 and fer["split"] == "test; a random 5 of 14"
    assert reports[0] == reports[1]


@tf
@pytest.mark.slow
def test_evaluate_int8_tflite_converted_elsewhere(trained, tmp_path):
    """The converted model's card carries the held-out subjects: no run.json beside it needed."""
    from fer_convert.cli import main as convert

    model = tmp_path / "deploy" / "fer_int8.tflite"
    result = CliRunner().invoke(
        convert, [str(trained.run), "--int8", "--samples", "64", "--out", str(model), "--force"]
    )
    assert result.exit_code == 0, result.output
    assert not (model.parent / "run.json").exists()
    keras_report = evaluate(trained, trained.run / "model.keras", tmp_path / "keras")
    report = evaluate(trained, model, tmp_path / "int8")
    assert set(report) == set(keras_report) == {"fer2013", "ckplus"}
    for name, res in report.items():
        ref = keras_report[name]
        assert set(res) == set(ref)
        assert (res["split"], res["n"]) == (ref["split"], ref["n"])
        assert sum(map(sum, res["confusion"])) == res["n"]
        assert abs(res["accuracy"] - ref["accuracy"]) <= 0.15, (name, res, ref)
    assert report["ckplus"]["split"].startswith("held-out test subjects")


@tf
@pytest.mark.slow
def test_predict_prints_and_writes_every_class(trained, tmp_path):
    faces = tmp_path / "faces"
    faces.mkdir()
    rng = np.random.default_rng(5)
    for label in ("happy", "surprise"):
        cv2.imwrite(str(faces / f"{label}.png"), pattern(label, rng))
    result = invoke("predict", trained.run / "model.keras", faces, "--csv", tmp_path / "p.csv")
    assert result.exit_code == 0, result.output
    rows = (tmp_path / "p.csv").read_text().splitlines()
    assert rows[0] == "file,prediction," + ",".join(LABELS) and len(rows) == 3
    probs = [float(v) for v in rows[1].split(",")[2:]]
    assert sum(probs) == pytest.approx(1.0, abs=1e-3)
    assert "happy.png" in result.output and "surprise.png" in result.output


@tf
def test_fit_failing_before_training_leaves_no_out_folder(tmp_path, yunet_model):
    faceless = tmp_path / "jaffe"
    faceless.mkdir()
    cv2.imwrite(str(faceless / "NA.SU1.79.tiff"), np.full((128, 128), 90, np.uint8))
    folder = tmp_path / "school" / "happy"
    folder.mkdir(parents=True)
    cv2.imwrite(str(folder / "a.png"), np.full((64, 64, 3), 90, np.uint8))
    cases = {
        "no training images left": f"jaffe={faceless}",  # every image skipped (no face)
        "no JAFFE images": f"jaffe={folder.parent}",  # the wrong kind for this folder
        "dataset path not found": f"folder={tmp_path}/missing",
    }
    for needle, spec in cases.items():
        out = tmp_path / "runs" / "fit"
        result = invoke(
            "fit", "--data", spec, "--out", out, "--weights", "none",
            "--face-model", yunet_model, "--cache-dir", tmp_path / "cache",
        )  # fmt: skip
        assert result.exit_code == 78 and needle in result.output, result.output
        assert not (tmp_path / "runs").exists()
    assert not (tmp_path / "cache").exists() or list((tmp_path / "cache").iterdir()) == []


def test_recipe_default_fills_what_the_command_line_leaves_out(tmp_path, monkeypatch):
    from fer_train import workflow

    seen = {}

    def fake_fit_run(specs, out, params, prep, max_per_class=None, repeat=None):
        seen["params"] = params
        return {}

    monkeypatch.setattr(workflow, "fit_run", fake_fit_run)
    result = invoke("fit", "--data", f"folder={tmp_path}", "--out", tmp_path / "o",
                    "--recipe", "default", "--epochs", 2, "--low-res-px", "16,30")  # fmt: skip
    assert result.exit_code == 0, result.output
    params = seen["params"]
    assert (params.image_size, params.weights, params.batch_size) == (96, "none", 256)
    assert (params.epochs, params.fine_tune_epochs) == (2, 0)  # --epochs given: kept
    assert params.class_weights == "balanced" and params.low_res_p == 0.5
    assert (params.low_res_min, params.low_res_max) == (16, 30)


def test_fit_options_are_fitparams_fields_checked_against_their_ranges(tmp_path, monkeypatch):
    from fer_train import workflow
    from fer_train.fit import FitParams

    seen = []
    monkeypatch.setattr(
        workflow, "fit_run", lambda specs, out, params, prep, **kw: seen.append(params) or {}
    )
    data = ["--data", f"folder={tmp_path}", "--out", tmp_path / "o"]
    assert invoke("fit", *data).exit_code == 0
    assert seen == [FitParams()]  # nothing given: FitParams' own defaults, stated once
    for flag, value, needle in [
        ("--low-res-p", "1.5", "low-res-p 1.5: must be <= 1"),
        ("--epochs", "-1", "epochs -1: must be >= 0"),
        ("--batch-size", "0", "batch-size 0: must be >= 1"),
    ]:
        result = invoke("fit", *data, flag, value)
        assert result.exit_code == 78 and needle in result.output, result.output
    assert len(seen) == 1


def test_bad_face_sizes_are_one_line_usage_errors(tmp_path):
    model = tmp_path / "m.keras"
    model.write_bytes(b"x")
    result = invoke("evaluate", model, "--data", f"folder={tmp_path}", "--out", tmp_path / "e",
                    "--face-px", "16,big")  # fmt: skip
    assert result.exit_code == 2 and "expected whole numbers" in result.output
    result = invoke("fit", "--data", f"folder={tmp_path}", "--out", tmp_path / "o",
                    "--low-res-px", "48,12")  # fmt: skip
    assert result.exit_code == 2 and "MIN <= MAX" in result.output
