"""``fer-convert`` end to end on a tiny trained run: output, card, parity and every refusal."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from helpers.skips import needs

needs("tensorflow")

from click.testing import CliRunner  # noqa: E402

from fer_convert import calibration  # noqa: E402
from fer_convert.cli import EXIT_PARITY, main  # noqa: E402
from fer_edge.contract.card import ModelCard, load_for_model, sha256_file, write_card  # noqa: E402
from fer_edge.contract.errors import ConfigError  # noqa: E402
from fer_edge.contract.labels import FER2013_CODES, LABELS  # noqa: E402
from fer_edge.contract.recipe import CropRecipe  # noqa: E402
from fer_train import data as train_data  # noqa: E402
from fer_train.prepare import Prepared  # noqa: E402
from helpers.tiny_model import separable_set, train_tiny_keras  # noqa: E402

pytestmark = pytest.mark.tf

#: What fer-train records in run.json (abridged); the fake data below serves its splits.
RUN_JSON = {
    "sources": [{"kind": "folder", "path": "/data/synthetic"}],
    "parameters": {"image_size": 32, "seed": 0},
    "splits": {"train": 70, "test": 42},
}

#: fer-train's training prior and class weighting in a card (the device reads them).
PRIOR = {
    "class_prior": dict(zip(LABELS, (0.141, 0.018, 0.14, 0.259, 0.175, 0.172, 0.095), strict=True)),
    "class_weights": "balanced",
}


class FakeRunData:
    """fer_train.data with a run's splits held in memory; dataset reading stays the real one."""

    def __init__(self, splits: dict[str, tuple[np.ndarray, np.ndarray]]):
        self.splits = splits
        self.load_sources = train_data.load_sources
        self.stratified_sample = train_data.stratified_sample

    def load_split(self, run_dir: Path, split: str, limit=None, seed=0):
        if split not in self.splits:
            raise ConfigError(f"{run_dir}: the run has no {split!r} split")
        images, labels = self.splits[split]
        n = len(labels)
        part = Prepared(
            images, labels, np.full(n, "synthetic"), np.full(n, split), np.full(n, ""), {}
        )
        return part if limit is None else train_data.stratified_sample(part, limit, seed)


def write_fer2013(path: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    """A FER2013 CSV (emotion code, 48x48 grey pixels, Usage), the Kaggle file's format."""
    codes = {label: code for code, label in FER2013_CODES.items()}
    rows = ["emotion,pixels,Usage"]
    for image, label in zip(images, labels, strict=True):
        grey = cv2.cvtColor(cv2.resize(image, (48, 48)), cv2.COLOR_RGB2GRAY)
        rows.append(f"{codes[LABELS[label]]},{' '.join(map(str, grey.ravel()))},PublicTest")
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def trained():
    return train_tiny_keras()


@pytest.fixture
def fake_data(monkeypatch):
    data = FakeRunData({"train": separable_set(10, seed=1), "test": separable_set(6, seed=2)})
    monkeypatch.setattr(calibration, "_data", lambda: data)
    return data


@pytest.fixture
def run_dir(trained, tmp_path, fake_data) -> Path:
    """A fer-train run directory: model.keras, its keras card, run.json."""
    run = tmp_path / "run"
    run.mkdir()
    trained.save(run / "model.keras")
    card = ModelCard(
        model_file="model.keras",
        model_format="keras",
        sha256=sha256_file(run / "model.keras"),
        crop=CropRecipe(32, 0.2, False),
        training={"epochs": 15, "datasets": ["synthetic"], **PRIOR},
        metrics={"test_accuracy": 1.0},
    )
    write_card(card, run / "model_card.json")
    (run / "run.json").write_text(json.dumps(RUN_JSON))
    return run


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_int8_from_run_dir(run_dir):
    result = invoke(run_dir, "--int8", "--samples", 20)
    assert result.exit_code == 0, result.stderr
    out = run_dir / "model_int8.tflite"
    card = load_for_model(out)
    assert card.mode == "int8" and card.input_dtype == "int8"
    assert card.crop == CropRecipe(32, 0.2, False)
    assert card.training["epochs"] == 15 and card.metrics == {"test_accuracy": 1.0}
    assert {k: card.training[k] for k in PRIOR} == PRIOR
    assert card.source["run"] == str(run_dir) and card.source["run_sources"] == RUN_JSON["sources"]
    assert card.source["calibration"] == {"from": ["run:train"], "samples": 20}
    assert card.parity["passed"] and card.parity["agreement"] >= 0.98
    assert card.parity["n"] == 42 and card.parity["data"] == ["run:test"]
    assert set(card.parity["per_class"]) == set(LABELS)
    assert list(card.parity["per_dataset"]) == ["synthetic"]
    assert "top-1 agreement" in result.stdout and "surprise" in result.stdout
    assert listing(run_dir) == sorted(
        ["model.keras", "model_card.json", "run.json", "model_int8.tflite", "model_int8.json"]
    )


def test_float16_to_out_path_with_validate_folder(run_dir, tmp_path):
    held_out = write_fer2013(tmp_path / "held.csv", *separable_set(2, seed=7))
    out = tmp_path / "dist" / "models" / "fer.tflite"  # folders created on success
    result = invoke(run_dir, "--float16", "--out", out, "--validate", f"fer2013={held_out}")
    assert result.exit_code == 0, result.stderr
    card = load_for_model(out)
    assert card.mode == "float16" and card.input_dtype == "float32"
    assert card.parity["n"] == 14 and card.parity["data"] == [f"fer2013={held_out}"]
    assert listing(out.parent) == ["fer.json", "fer.tflite"]


def test_validation_falls_back_to_val_split(run_dir, fake_data):
    fake_data.splits["val"] = fake_data.splits.pop("test")
    result = invoke(run_dir, "--dynamic-range")
    assert result.exit_code == 0, result.stderr
    assert load_for_model(run_dir / "model_dynamic-range.tflite").parity["data"] == ["run:val"]


def test_constant_calibration_fails_parity_and_writes_nothing(run_dir, tmp_path):
    flat = np.full((14, 32, 32, 3), 0, np.uint8)
    calib = write_fer2013(tmp_path / "flat.csv", flat, np.arange(14) % 7)
    before = listing(run_dir)
    result = invoke(run_dir, "--int8", "--calibration", f"fer2013={calib}")
    assert result.exit_code == EXIT_PARITY
    assert result.stderr.startswith("fer-convert: error: top-1 agreement")
    assert "FAIL" in result.stdout
    assert listing(run_dir) == before  # no model, no card, no temp file
    elsewhere = tmp_path / "new" / "deep" / "m.tflite"
    failed = invoke(run_dir, "--int8", "--calibration", f"fer2013={calib}", "--out", elsewhere)
    assert failed.exit_code == EXIT_PARITY
    assert not (tmp_path / "new").exists()  # folders it created are removed again

    forced = invoke(run_dir, "--int8", "--calibration", f"fer2013={calib}", "--force")
    assert forced.exit_code == 0
    card = load_for_model(run_dir / "model_int8.tflite")
    assert card.parity["passed"] is False and card.parity["agreement"] < 0.98


def _one_line_error(result, *needles, code=1):
    """One ``fer-convert: error:`` line; exit 1, or 78 (EX_CONFIG) for bad configuration."""
    assert result.exit_code == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fer-convert: error: "), result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_run_dir_without_model(tmp_path, fake_data):
    _one_line_error(invoke(tmp_path, "--int8"), str(tmp_path), "no model.keras")
    _one_line_error(invoke(tmp_path / "nope.keras"), "not found")
    assert listing(tmp_path) == []


def test_corrupt_model(run_dir):
    (run_dir / "model_card.json").unlink()
    (run_dir / "model.keras").write_bytes(b"PK\x03\x04 truncated")
    _one_line_error(invoke(run_dir, "--float16"), "model.keras", "not a loadable Keras model")
    assert "model_float16.tflite" not in listing(run_dir)


def test_model_not_matching_its_card(run_dir):
    with open(run_dir / "model.keras", "ab") as fh:
        fh.write(b"\0")
    _one_line_error(invoke(run_dir), "sha256")


def test_no_calibration_data(run_dir, fake_data, tmp_path):
    del fake_data.splits["train"]
    _one_line_error(invoke(run_dir, "--int8"), "no calibration data", code=78)
    empty = tmp_path / "empty"
    empty.mkdir()
    _one_line_error(
        invoke(run_dir, "--int8", "--calibration", f"folder={empty}"), str(empty), code=78
    )
    loose = tmp_path / "loose" / "model.keras"
    loose.parent.mkdir()
    (run_dir / "model.keras").rename(loose)
    _one_line_error(invoke(loose, "--int8"), "--calibration", code=78)
    assert listing(loose.parent) == ["model.keras"]


def test_unreadable_calibration_image(run_dir, tmp_path):
    calib = tmp_path / "calib"
    (calib / "happy").mkdir(parents=True)
    broken = calib / "happy" / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    before = listing(run_dir)
    _one_line_error(invoke(run_dir, "--int8", "--calibration", f"folder={calib}"), "broken.png")
    assert listing(run_dir) == before


def test_bad_arguments(run_dir, tmp_path):
    (tmp_path / "file").write_text("x")
    _one_line_error(
        invoke(run_dir, "--out", tmp_path / "file" / "m.tflite"), "not a folder", code=78
    )
    _one_line_error(invoke(run_dir, "--out", tmp_path / "m.onnx"), ".tflite", code=78)
    _one_line_error(
        invoke(run_dir, "--int8", "--calibration", "imagenet=/x"), "unknown dataset", code=78
    )
    _one_line_error(invoke(run_dir, "--int8", "--samples", 0), "--samples", code=78)
    usage = invoke(run_dir, "--float16", "--uint8-io")
    assert usage.exit_code == 2 and "--int8 only" in usage.stderr


def test_two_conversion_modes_are_refused(tmp_path):
    for pair in (("--int8", "--float16"), ("--dynamic-range", "--float32")):
        result = invoke(tmp_path, *pair)
        assert result.exit_code == 2 and f"{pair[0]} and {pair[1]} conflict" in result.stderr
    assert listing(tmp_path) == []


def test_a_tflite_or_other_file_is_one_line_not_a_keras_message(tmp_path):
    (tmp_path / "m.tflite").write_bytes(b"TFL3")
    _one_line_error(invoke(tmp_path / "m.tflite", "--int8"), "already a TFLite model", code=78)
    (tmp_path / "m.onnx").write_bytes(b"onnx")
    _one_line_error(invoke(tmp_path / "m.onnx"), "not a Keras model", code=78)
    assert listing(tmp_path) == ["m.onnx", "m.tflite"]


def test_float32_when_no_mode_is_given(run_dir):
    result = invoke(run_dir)
    assert result.exit_code == 0, result.stderr
    card = load_for_model(run_dir / "model_float32.tflite")
    assert card.mode == "float32" and card.input_quantization is None
    assert card.source["keras_sha256"] == sha256_file(run_dir / "model.keras")
    assert "calibration" not in card.source
