"""The model card: round trip, validation (a bad class prior too), the model file's sha256."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fer_edge.classify import packaged_model
from fer_edge.contract import card as cardmod
from fer_edge.contract.card import ModelCard
from fer_edge.contract.errors import CardError
from helpers.cards import int8_card

_card = int8_card
PACKAGED = packaged_model.default_model_path()


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


def _calibration() -> dict:
    confusion = (np.eye(7, dtype=int) * 6 + 1).tolist()  # 13 faces a class
    mean = (np.eye(7) * 0.3 + 0.1).tolist()
    row = {"n": 91, "confusion": confusion, "mean_probs": mean}
    scaled = {**row, "temperature": 1.25, "bias": [0.5, -0.5, 0, 0, 0, 0, 0]}
    return {"source": "test faces", "sizes": {"native": row, "24": scaled}}


def test_card_round_trip_with_calibration(tmp_path):
    card = _card(calibration=_calibration())
    path = tmp_path / "m.json"
    cardmod.write_card(card, path)
    back = cardmod.read_card(path)
    assert back == card and back.calibration["sizes"]["24"]["n"] == 91
    assert back.calibration["sizes"]["24"]["temperature"] == 1.25
    # a card without one writes no calibration field at all
    cardmod.write_card(_card(), path)
    assert "calibration" not in json.loads(path.read_text())


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda c: c.pop("sizes"), "'sizes' object"),
        (lambda c: c["sizes"].update({"tiny": c["sizes"]["24"]}), "neither 'native'"),
        (lambda c: c["sizes"]["24"].pop("confusion"), "needs n, confusion"),
        (lambda c: c["sizes"]["24"].update(confusion=[[1] * 7] * 6), "must be 7x7"),
        (lambda c: c["sizes"]["24"].update(n=90), "not n = 90"),
        (lambda c: c["sizes"]["24"]["confusion"][0].__setitem__(0, 6.5), "counts"),
        (lambda c: c["sizes"]["24"]["mean_probs"][0].__setitem__(0, 0.9), "probabilities"),
        (lambda c: c["sizes"]["24"].pop("bias"), "temperature and bias come together"),
        (lambda c: c["sizes"]["24"].update(temperature=0), "temperature must be a number"),
        (lambda c: c["sizes"]["24"].update(temperature="1"), "temperature must be a number"),
        (lambda c: c["sizes"]["24"].update(bias=[0] * 6), "bias must be 7 finite numbers"),
        (lambda c: c["sizes"]["24"]["bias"].__setitem__(0, float("nan")), "bias must be 7"),
    ],
)
def test_card_calibration_validation_names_the_problem(tmp_path, mutate, message):
    data = _card().to_dict()
    data["calibration"] = _calibration()
    data["calibration"]["sizes"]["24"] = json.loads(json.dumps(data["calibration"]["sizes"]["24"]))
    mutate(data["calibration"])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(CardError) as err:
        cardmod.read_card(path)
    assert "calibration" in str(err.value) and message in str(err.value)


def test_a_bad_class_prior_in_a_card_is_refused(tmp_path):
    data = json.loads(PACKAGED.with_suffix(".json").read_text())
    data["training"]["class_prior"] = {"happy": 1.0}
    with pytest.raises(CardError, match="class_prior"):
        ModelCard.from_dict(data, "x.json")
