"""``fer-train`` end to end on a tiny synthetic set in the real formats: fit, evaluate, predict."""

from __future__ import annotations

import json

import cv2
import pytest

pytest.importorskip("tensorflow")

from click.testing import CliRunner  # noqa: E402

from fer_edge.card import load_for_model  # noqa: E402
from fer_edge.labels import LABELS  # noqa: E402
from fer_train.cli import main  # noqa: E402
from fer_train.synth import pattern, write_ckplus48, write_fer2013_csv  # noqa: E402

pytestmark = pytest.mark.tf


def test_fit_rejects_unknown_kind_and_missing_path(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["fit", "--data", "affectnet=/x", "--out", str(tmp_path)])
    assert result.exit_code == 78 and "unknown kind 'affectnet'" in result.output
    result = runner.invoke(main, ["fit", "--data", f"jaffe={tmp_path}/no", "--out", str(tmp_path)])
    assert result.exit_code == 78 and "dataset path not found" in result.output


@pytest.mark.slow
def test_fit_evaluate_predict_from_scratch(tmp_path):
    import numpy as np

    fer = write_fer2013_csv(tmp_path / "fer2013" / "fer2013.csv", per_class=16)
    ck = write_ckplus48(tmp_path / "CK+48", subjects=6, per_subject=2)
    run = tmp_path / "run"
    cache = str(tmp_path / "cache")
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["fit", "--data", f"fer2013={fer.parent}", "--data", f"ckplus={ck}", "--out", str(run),
         "--image-size", "64", "--weights", "none", "--epochs", "8", "--fine-tune-epochs", "0",
         "--batch-size", "16", "--cache-dir", cache],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("model.keras", "model_card.json", "composition.json", "history.json", "run.json"):
        assert (run / name).is_file(), name
    card = load_for_model(run / "model.keras")
    assert card.model_format == "keras" and card.input_size == 64
    comp = json.loads((run / "composition.json").read_text())
    assert comp["datasets"]["fer2013"]["counts"]["happy"] == {"train": 12, "val": 2, "test": 2}
    held = json.loads((run / "run.json").read_text())["held_out_subjects"]["ckplus"]["test"]
    assert held

    out = tmp_path / "eval"
    result = runner.invoke(
        main,
        ["evaluate", str(run / "model.keras"), "--data", f"fer2013={fer}", "--data",
         f"ckplus={ck}", "--out", str(out), "--cache-dir", cache],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())["datasets"]
    assert report["fer2013"]["split"] == "test" and report["fer2013"]["n"] == 14
    assert report["ckplus"]["split"].startswith("held-out test subjects")
    assert report["ckplus"]["n"] == 6 * 2 * len(held)
    assert set(report["fer2013"]["per_class"]) == set(LABELS)
    assert sum(map(sum, report["fer2013"]["confusion"])) == 14
    assert report["fer2013"]["accuracy"] > 1 / 7 + 0.1, report["fer2013"]
    assert (out / "confusion-fer2013.png").read_bytes()[:4] == b"\x89PNG"

    faces = tmp_path / "faces"
    faces.mkdir()
    rng = np.random.default_rng(5)
    for label in ("happy", "surprise"):
        cv2.imwrite(str(faces / f"{label}.png"), pattern(label, rng))
    result = runner.invoke(
        main, ["predict", str(run / "model.keras"), str(faces), "--csv", str(tmp_path / "p.csv")]
    )
    assert result.exit_code == 0, result.output
    rows = (tmp_path / "p.csv").read_text().splitlines()
    assert rows[0] == "file,prediction," + ",".join(LABELS) and len(rows) == 3
    probs = [float(v) for v in rows[1].split(",")[2:]]
    assert sum(probs) == pytest.approx(1.0, abs=1e-3)
