"""The model card: round trip, validation, the model file's sha256."""

from __future__ import annotations

import json

import pytest

from fer_edge.contract import card as cardmod
from fer_edge.contract.card import ModelCard, Quantization
from fer_edge.contract.errors import CardError
from fer_edge.contract.recipe import CropRecipe


def _card(**kw) -> ModelCard:
    base = dict(
        model_file="m.tflite",
        model_format="tflite",
        sha256="a" * 64,
        crop=CropRecipe(96),
        input_dtype="int8",
        input_quantization=Quantization(1.0, -128),
        output_dtype="int8",
        output_quantization=Quantization(1 / 256, -128),
        mode="int8",
    )
    base.update(kw)
    return ModelCard(**base)


def test_card_round_trip(tmp_path):
    card = _card(metrics={"accuracy": 0.5}, training={"datasets": {"jaffe": 10}})
    path = tmp_path / "m.json"
    cardmod.write_card(card, path)
    back = cardmod.read_card(path)
    assert back == card
    assert json.loads(path.read_text())["input"]["shape"] == [None, 96, 96, 3]


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.update(labels=list(reversed(d["labels"]))), "labels"),
        (lambda d: d.pop("crop"), "missing field 'crop'"),
        (lambda d: d["input"].update(shape=[None, 64, 64, 3]), "does not match the crop size"),
        (lambda d: d["input"].update(quantization=None), "input is int8 but has no valid"),
        (lambda d: d["output"].update(dtype="int4"), "output.dtype"),
        (lambda d: d["model"].update(sha256="abc"), "sha256"),
        (lambda d: d.update(schema="other"), "schema"),
        (lambda d: d.update(mode="fp8"), "mode"),
        (lambda d: d["input"].update(pixels="bgr-minus-mean"), "input.pixels"),
        (lambda d: d["crop"].update(margin=3), "bad crop recipe"),
    ],
)
def test_card_validation_names_the_problem(tmp_path, mutate, message):
    data = _card().to_dict()
    mutate(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(CardError) as err:
        cardmod.read_card(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_card_checks_the_model_file(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"model bytes")
    cardmod.write_card(_card(sha256=cardmod.sha256_file(model)), tmp_path / "m.json")
    assert cardmod.load_for_model(model).mode == "int8"
    model.write_bytes(b"other bytes")
    with pytest.raises(CardError, match="does not match its model card"):
        cardmod.load_for_model(model)
    with pytest.raises(CardError, match="no model card"):
        cardmod.card_path_for(tmp_path / "none.tflite")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(CardError, match="cannot read model card"):
        cardmod.read_card(tmp_path / "broken.json")
