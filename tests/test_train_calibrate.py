"""``fer-train calibrate``: the card's confusion matrices and mean probabilities."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from click.testing import CliRunner  # noqa: E402

from fer_edge.classify.shares import Calibration  # noqa: E402
from fer_edge.contract.card import load_for_model, sha256_file  # noqa: E402
from fer_edge.contract.labels import LABELS  # noqa: E402
from fer_train.calibrate import calibration, fit_scaling  # noqa: E402
from fer_train.cli import main  # noqa: E402
from fer_train.synth import write_fer2013_csv  # noqa: E402

pytestmark = pytest.mark.tf


def test_calibration_by_hand():
    labels = np.array([0, 0, 1, 3])
    probs = np.zeros((4, len(LABELS)))
    probs[[0, 1, 2, 3], [0, 1, 1, 4]] = 0.7
    probs[[0, 1, 2, 3], [4, 4, 4, 3]] = 0.3
    result = calibration({"native": probs, "24": probs}, labels, "hand")
    native = result["sizes"]["native"]
    assert native["n"] == 4 and native["accuracy"] == 0.5
    confusion = np.array(native["confusion"])
    assert confusion[0, 0] == 1 and confusion[0, 1] == 1 and confusion[3, 4] == 1
    assert confusion.sum() == 4
    mean = np.array(native["mean_probs"])
    np.testing.assert_allclose(mean[0, [0, 1, 4]], [0.35, 0.35, 0.3])
    assert not mean[2].any()  # no fear faces: a zero row
    assert result["class_counts"]["anger"] == 2
    assert native["temperature"] > 0 and len(native["bias"]) == len(LABELS)


def test_temperature_scaling_recovers_how_the_probabilities_were_distorted():
    from fer_edge.classify.shares import rescale, softmax

    rng = np.random.default_rng(0)
    probs = softmax(rng.normal(0, 2, (4000, len(LABELS))))
    bias = np.array([0.5, -1.0, 0.2, 0.3, 0.0, -0.4, 0.4])
    bias -= bias.mean()
    truth = rescale(probs, 1.7, bias)  # what the labels follow
    labels = np.array([rng.choice(len(LABELS), p=row) for row in truth])
    temperature, fitted = fit_scaling(probs, labels)
    assert temperature == pytest.approx(1.7, rel=0.08)
    np.testing.assert_allclose(fitted, bias, atol=0.12)
    # Calibrated probabilities already: T near 1, b near 0.
    labels = np.array([rng.choice(len(LABELS), p=row) for row in probs])
    temperature, fitted = fit_scaling(probs, labels)
    assert temperature == pytest.approx(1.0, abs=0.08) and np.abs(fitted).max() < 0.12


def test_temperature_scaling_stays_in_range_on_few_or_uninformative_faces():
    from fer_train.calibrate import MAX_T, MIN_T

    rng = np.random.default_rng(2)
    flat = np.full((12, len(LABELS)), 1 / len(LABELS))  # probabilities that say nothing
    temperature, bias = fit_scaling(flat, rng.integers(0, 7, size=12))
    assert MIN_T <= temperature <= MAX_T and np.isfinite(bias).all()
    sure = np.full((6, len(LABELS)), 0.01)  # six faces, all read right with confidence
    labels = np.arange(6)
    sure[labels, labels] = 0.94
    temperature, bias = fit_scaling(sure, labels)
    assert MIN_T <= temperature < 1 and np.isfinite(bias).all()  # sharpened, within range
    result = calibration({"native": flat}, rng.integers(0, 7, size=12), "few")
    assert 0 < result["sizes"]["native"]["temperature"] < 1000  # a card that validates


def test_temperature_scaling_keeps_a_class_without_faces_finite():
    rng = np.random.default_rng(1)
    probs = np.full((200, len(LABELS)), 0.05)
    labels = rng.choice([0, 3, 4], size=200)
    probs[np.arange(200), labels] = 0.7
    temperature, bias = fit_scaling(probs, labels)
    assert np.isfinite(temperature) and np.isfinite(bias).all() and np.abs(bias).max() < 50


def test_calibrate_writes_the_card_of_an_int8_model(tmp_path):
    from helpers.tiny_model import make_tiny_tflite

    model = make_tiny_tflite(tmp_path / "model", size=32, mode="int8")
    card_file = model.with_suffix(".json")
    before = json.loads(card_file.read_text())
    sha = sha256_file(model)
    fer = write_fer2013_csv(tmp_path / "fer2013" / "fer2013.csv", per_class=8)
    result = CliRunner().invoke(
        main,
        ["calibrate", str(model), "--data", f"fer2013={fer}", "--face-px", "16,24",
         "--cache-dir", str(tmp_path / "cache")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    card = load_for_model(model)  # the sha256 still matches: the model is unchanged
    assert sha256_file(model) == sha == card.sha256
    cal = card.calibration
    assert set(cal["sizes"]) == {"native", "16", "24"}
    # only the PublicTest rows (validation): 1 in 8 of each class
    assert cal["sizes"]["native"]["n"] == len(LABELS) and "validation" in cal["source"]
    assert Calibration.from_card(card).sizes == (16, 24, None)
    after = json.loads(card_file.read_text())
    assert {k: v for k, v in after.items() if k != "calibration"} == before
    assert "native: accuracy" in result.output


def test_calibrate_without_a_card_is_one_clear_line(tmp_path):
    model = tmp_path / "lonely.tflite"
    model.write_bytes(b"not really")
    fer = write_fer2013_csv(tmp_path / "fer2013" / "fer2013.csv", per_class=2)
    result = CliRunner().invoke(main, ["calibrate", str(model), "--data", f"fer2013={fer}"])
    assert result.exit_code == 78
    assert "no model card" in result.output and "Traceback" not in result.output
