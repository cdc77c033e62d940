"""The model contract: labels, card, crop recipe and pixel preprocessing."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from fer_edge.contract import card as cardmod
from fer_edge.contract.card import ModelCard, Quantization
from fer_edge.contract.errors import CardError, UnknownLabelError
from fer_edge.contract.labels import (
    CKPLUS_CODES,
    FER2013_CODES,
    LABELS,
    allowed_names,
    canonical,
    index,
)
from fer_edge.contract.preprocess import dequantize, quantize, to_model_input
from fer_edge.contract.recipe import CropRecipe
from fer_edge.faces.crop import crop_square


# --- labels -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "alias, expected",
    [
        ("angry", "anger"),
        ("Anger", "anger"),
        ("disgusted", "disgust"),
        ("fear", "fear"),
        ("happiness", "happy"),
        ("HA", "happy"),
        ("natural", "neutral"),
        ("NE", "neutral"),
        ("sad", "sadness"),
        ("SA", "sadness"),
        ("surprised", "surprise"),
        ("SU", "surprise"),
        ("AN", "anger"),
        ("DI", "disgust"),
        ("FE", "fear"),
        (" sadness ", "sadness"),
    ],
)
def test_aliases_map_onto_canonical_labels(alias, expected):
    assert canonical(alias) == expected


def test_every_code_table_maps_onto_the_canonical_set():
    assert [canonical(c) for c in range(8)] == [
        "neutral",
        "anger",
        None,
        "disgust",
        "fear",
        "happy",
        "sadness",
        "surprise",
    ]
    fer = [canonical(c, codes=FER2013_CODES) for c in range(7)]
    assert fer == ["anger", "disgust", "fear", "happy", "sadness", "surprise", "neutral"]
    assert sorted(set(fer)) == sorted(LABELS)
    assert set(CKPLUS_CODES.values()) - {"contempt"} == set(LABELS)


def test_contempt_is_excluded_and_unknown_labels_list_allowed_names():
    assert canonical("contempt") is None
    with pytest.raises(UnknownLabelError) as err:
        canonical("bored")
    assert "'bored'" in str(err.value) and "happiness" in str(err.value)
    with pytest.raises(UnknownLabelError):
        canonical(9)
    assert "natural" in allowed_names()


def test_label_index_follows_the_contract_order():
    assert [index(label) for label in LABELS] == list(range(7))
    with pytest.raises(UnknownLabelError):
        index("angry")


# --- model card -------------------------------------------------------------------------------
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


# --- crop recipe ------------------------------------------------------------------------------
def test_crop_is_square_rgb_of_the_recipe_size():
    image = np.zeros((101, 77, 3), np.uint8)
    image[..., 0] = 255  # blue in BGR
    crop = crop_square(image, (10, 20, 30, 41), CropRecipe(size=33, margin=0.2))
    assert crop.shape == (33, 33, 3) and crop.dtype == np.uint8
    assert (crop[..., 2] == 255).all() and (crop[..., :2] == 0).all()  # blue lands in RGB's B


def test_crop_greyscale_becomes_three_equal_channels():
    grey = np.arange(50 * 60, dtype=np.uint32).reshape(50, 60).astype(np.uint8)
    crop = crop_square(grey, (5, 5, 20, 20), CropRecipe(size=16, margin=0.0))
    assert crop.shape == (16, 16, 3)
    assert (crop[..., 0] == crop[..., 1]).all() and (crop[..., 1] == crop[..., 2]).all()


def test_crop_takes_the_margin_around_the_box_centre():
    image = np.zeros((200, 200, 3), np.uint8)
    cv2.rectangle(image, (80, 80), (119, 119), (255, 255, 255), -1)  # 40 px box
    crop = crop_square(image, (80, 80, 40, 40), CropRecipe(size=60, margin=0.25))
    # side = 40 * 1.5 = 60: the box fills the central 40 px, a 10 px black border around it
    assert crop[30, 30].min() == 255 and crop[5, 30].max() == 0 and crop[30, 55].max() == 0
    assert (crop[12:48, 12:48] == 255).all()


@pytest.mark.parametrize("box", [(0, 0, 30, 30), (170, 90, 30, 30), (-10, -10, 40, 40)])
def test_crop_clamps_at_image_borders_without_padding(box):
    rng = np.random.default_rng(0)
    image = rng.integers(1, 255, (120, 200, 3), dtype=np.uint8)
    crop = crop_square(image, box, CropRecipe(size=24, margin=0.5))
    assert crop.shape == (24, 24, 3)
    # clamped inside the image: no replicated/black padding rows at the borders
    assert crop.min() > 0


def test_crop_larger_than_image_shrinks_to_fit():
    image = np.full((40, 90, 3), 7, np.uint8)
    crop = crop_square(image, (10, 0, 60, 40), CropRecipe(size=20, margin=0.5))
    assert crop.shape == (20, 20, 3) and (crop == 7).all()


def test_alignment_levels_tilted_eyes():
    image = np.full((200, 200, 3), 255, np.uint8)
    right_eye, left_eye = (80.0, 90.0), (120.0, 110.0)  # tilted down by ~26.6°
    for x, y in (right_eye, left_eye):
        cv2.circle(image, (int(x), int(y)), 4, (0, 0, 0), -1)
    recipe = CropRecipe(size=100, margin=0.0)
    crop = crop_square(image, (50, 50, 100, 100), recipe, eyes=(right_eye, left_eye))
    dark = np.argwhere(crop.min(axis=2) < 100)
    left_half, right_half = dark[dark[:, 1] < 50], dark[dark[:, 1] >= 50]
    assert abs(left_half[:, 0].mean() - right_half[:, 0].mean()) < 2.0  # same row: level
    unaligned = crop_square(image, (50, 50, 100, 100), CropRecipe(100, 0.0, align=False))
    dark = np.argwhere(unaligned.min(axis=2) < 100)
    assert abs(dark[dark[:, 1] < 50][:, 0].mean() - dark[dark[:, 1] >= 50][:, 0].mean()) > 15


def test_recipe_rejects_bad_values():
    with pytest.raises(ValueError):
        CropRecipe(size=4)
    with pytest.raises(ValueError):
        CropRecipe(margin=-0.1)


# --- pixel preprocessing ----------------------------------------------------------------------
def test_int8_quantisation_of_pixels_is_exact_for_unit_scale():
    crops = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1).repeat(3, axis=3)
    q = to_model_input(crops, "int8", 1.0, -128)
    assert q.dtype == np.int8 and q.min() == -128 and q.max() == 127
    np.testing.assert_array_equal(dequantize(q, 1.0, -128), crops.astype(np.float32))


def test_quantise_clips_and_float_passes_through():
    assert quantize(np.array([-1000.0, 1000.0]), "int8", 0.5, 0).tolist() == [-128, 127]
    crops = np.full((2, 4, 4, 3), 200, np.uint8)
    out = to_model_input(crops, "float32")
    assert out.dtype == np.float32 and float(out.max()) == 200.0
    with pytest.raises(ValueError):
        to_model_input(crops.astype(np.float32), "float32")
    with pytest.raises(ValueError):
        to_model_input(crops, "int8")


# --- atomic writes ------------------------------------------------------------------------------
def test_atomic_write_replaces_whole_file_with_umask_permissions(tmp_path):
    import os

    from fer_edge.contract import atomic

    target = tmp_path / "card.json"
    target.write_text("old")
    old_mask = os.umask(0o022)
    try:
        atomic.write_text(target, "new")
    finally:
        os.umask(old_mask)
    assert target.read_text() == "new" and (target.stat().st_mode & 0o777) == 0o644
    with pytest.raises(RuntimeError), atomic.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == [
        "card.json"
    ]


def test_the_contract_imports_no_opencv():
    """Training tools and card readers use the contract without OpenCV or a runtime."""
    code = (
        "import importlib, pkgutil, sys, fer_edge.contract as c\n"
        "mods = [m.name for m in pkgutil.iter_modules(c.__path__, 'fer_edge.contract.')]\n"
        "for m in mods: importlib.import_module(m)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('cv2', 'tensorflow', 'keras')]\n"
        "print(len(mods), bad); sys.exit(1 if bad or len(mods) < 6 else 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
