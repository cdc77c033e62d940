"""``fer-edge survey``: face sizes, readable share, expected accuracy and advice; stores nothing."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from fer_edge.classify.packaged_model import default_model_path
from fer_edge.cli import main
from fer_edge.contract.card import ModelCard, read_card
from fer_edge.contract.recipe import CropRecipe
from fer_edge.tools.survey import Survey, expected_accuracy, face_size_table
from helpers.clips import write_face_clip

TABLE = {"20": 0.437, "24": 0.522, "32": 0.589, "48": 0.619}


def test_expected_accuracy_follows_the_cards_face_size_table():
    metrics = {"face_size": {"set": "FER+ test", "accuracy_by_px": TABLE}}
    card = ModelCard("m.tflite", "tflite", "ab" * 32, CropRecipe(96), metrics=metrics)
    table = face_size_table(card)
    assert table == [(20.0, 0.437), (24.0, 0.522), (32.0, 0.589), (48.0, 0.619)]
    assert expected_accuracy(table, 28) == pytest.approx((0.522 + 0.589) / 2)
    assert expected_accuracy(table, 11) == 0.437 and expected_accuracy(table, 200) == 0.619
    assert face_size_table(ModelCard("m.tflite", "tflite", "ab" * 32, CropRecipe(96))) == []


def test_advice_names_the_problem():
    small = Survey(capture="640x352", frames=10, widths=[11.0] * 30)
    small.reasons["small"] = 30
    assert small.advice() == (
        "median face 11 px: too small for expression reading — capture at 1920x1080 "
        "(now 640x352) or move the camera closer"
    )
    small.capture = "1920x1080"
    assert small.advice().endswith("move the camera closer or use a longer lens")
    turned = Survey(capture="1920x1080", frames=10, widths=[40.0] * 10)
    turned.reasons["turned"] = 8
    assert turned.advice().startswith("80 % of faces turned away or looking down")
    assert Survey(capture="1920x1080", frames=5).advice().startswith("no faces found")
    big = Survey(capture="1920x1080", frames=1, widths=[50.0], readable_widths=[50.0])
    assert big.advice() == "median face 50 px: large enough for expression reading"


@pytest.mark.parametrize(
    "side, advice, readable",
    [(40, "too small for expression reading", "readable: 0 %"),
     (80, "large enough for expression reading", "expected accuracy at these widths: ")],
)  # fmt: skip
def test_survey_of_a_clip_reports_sizes_and_advice_and_writes_nothing(
    tmp_path, head_bgr, yunet_model, monkeypatch, side, advice, readable
):
    clip = write_face_clip(tmp_path / "room.avi", head_bgr, frames=20, side=side)
    monkeypatch.chdir(tmp_path)
    before = sorted(os.listdir(tmp_path))
    result = CliRunner().invoke(
        main,
        ["survey", "--camera", str(clip), "--face-model", str(yunet_model), "--seconds", "1",
         "--detect-width", "0"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    width = "320x180" if side == 40 else "640x360"
    assert f"capture: {width}" in lines
    assert any(line.startswith("frames: 10 in 1 s; faces per frame: 15.0") for line in lines)
    assert any(line.startswith("face width (capture px): ") for line in lines)
    assert any(readable in line for line in lines), lines
    if side == 80:  # 24-48 px faces: between the packaged card's 24 px and 48 px figures
        (line,) = [x for x in lines if readable in x]
        shown = float(line.split(readable)[1].split(" %")[0]) / 100
        table = dict(face_size_table(read_card(default_model_path().with_suffix(".json"))))
        assert table[24] <= shown <= table[48], line
    assert lines[-1].startswith("advice: median face") and advice in lines[-1]
    assert sorted(os.listdir(tmp_path)) == before  # no log folder, no image
