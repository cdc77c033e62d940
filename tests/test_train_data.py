"""Fusion, the preparation cache, splits, duplicates and class weights, on fixtures in the real
on-disk formats (FER+ soft targets included)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from fer_edge.contract.errors import ConfigError, ImageReadError
from fer_edge.contract.labels import LABELS
from fer_edge.contract.recipe import CropRecipe
from fer_train import data
from fer_train.synth import write_ckplus48, write_fer2013_csv
from helpers.datasets import ferplus_with_votes, pixels, write_fer2013_rows


def test_fer2013_csv_splits_codes_and_cross_split_duplicates(tmp_path):
    csv_path = write_fer2013_rows(
        tmp_path / "fer2013.csv",
        [
            (0, pixels(10), "Training"),  # anger
            (6, pixels(20), "Training"),  # neutral
            (3, pixels(30), "Training"),  # a copy of the PrivateTest image below
            (3, pixels(30), "PrivateTest"),
            (5, pixels(40), "PublicTest"),  # surprise
            (4, "1 2 3", "Training"),  # not a square image: skipped
        ],
    )
    prepared = data.load_sources(
        [("fer2013", csv_path)], CropRecipe(32), cache_dir=tmp_path / "cache"
    )
    got = sorted(zip(prepared.splits.tolist(), [LABELS[i] for i in prepared.labels], strict=True))
    assert got == [("test", "happy"), ("train", "anger"), ("train", "neutral"), ("val", "surprise")]
    assert prepared.images.shape == (4, 32, 32, 3) and prepared.images.dtype == np.uint8
    assert prepared.skipped["fer2013"] == {"unreadable": 1, "duplicate": 1}


def test_ckplus48_subjects_contempt_corrupt_and_strict(tmp_path):
    root = write_ckplus48(tmp_path / "CK+48", subjects=6, per_subject=2)
    (root / "contempt").mkdir()
    cv2.imwrite(str(root / "contempt" / "S099_001_00000010.png"), np.zeros((48, 48), np.uint8))
    (root / "happy" / "S050_004_00000017.png").write_bytes(b"not a png")
    prepared = data.load_sources(
        [("ckplus", root)], CropRecipe(32), cache_dir=tmp_path / "cache", seed=3
    )
    assert prepared.skipped["ckplus"] == {"excluded label": 1, "unreadable": 1}
    assert len(prepared) == 6 * 6 * 2
    assert set(prepared.subjects.tolist()) == {f"S{10 + s:03d}" for s in range(6)}
    by_split = {s: set(prepared.subjects[prepared.splits == s]) for s in data.SPLITS}
    assert all(by_split.values())
    assert not (by_split["train"] & by_split["test"] or by_split["train"] & by_split["val"])
    assert not by_split["val"] & by_split["test"]
    with pytest.raises(ImageReadError, match="S050_004_00000017.png"):
        data.load_sources(
            [("ckplus", root)], CropRecipe(32), cache_dir=tmp_path / "cache", strict=True
        )


def test_jaffe_palette_tiff_through_the_face_pipeline(tmp_path, head_bgr, yunet_model):
    from PIL import Image

    from fer_edge.faces.detect import create_detector

    grey = cv2.cvtColor(cv2.resize(head_bgr, (160, 160)), cv2.COLOR_BGR2GRAY)
    frame = np.full((256, 256), 90, np.uint8)
    frame[48:208, 48:208] = grey
    root = tmp_path / "jaffe"
    root.mkdir()
    Image.fromarray(frame).convert("P").save(root / "KA.AN1.39.tiff")
    assert Image.open(root / "KA.AN1.39.tiff").mode == "P"
    cv2.imwrite(str(root / "KM.HA2.5.tif"), frame[:, ::-1])  # a different image
    cv2.imwrite(str(root / "NA.SU1.79.tiff"), np.full((256, 256), 90, np.uint8))  # no face
    (root / "README").write_text("JAFFE")
    detector = create_detector("yunet", yunet_model)
    prepared = data.load_sources(
        [("jaffe", root)], CropRecipe(48), cache_dir=tmp_path / "cache", detector=detector
    )
    assert sorted(prepared.subjects.tolist()) == ["KA", "KM"]
    assert sorted(LABELS[i] for i in prepared.labels) == ["anger", "happy"]
    assert prepared.skipped["jaffe"] == {"no face": 1}
    assert prepared.images.shape == (2, 48, 48, 3)


def test_cache_is_reused_and_keyed_by_parameters(tmp_path, monkeypatch):
    csv_path = write_fer2013_csv(tmp_path / "fer" / "fer2013.csv", per_class=2)
    cache = tmp_path / "cache"
    first = data.load_sources([("fer2013", csv_path)], CropRecipe(32), cache_dir=cache)
    assert len(list(cache.glob("*.npz"))) == 1

    def fail(*args, **kwargs):
        raise AssertionError("re-read despite a cache entry")

    monkeypatch.setattr("fer_train.prepare._prepare", fail)
    again = data.load_sources([("fer2013", csv_path)], CropRecipe(32), cache_dir=cache)
    np.testing.assert_array_equal(first.images, again.images)
    monkeypatch.undo()
    data.load_sources([("fer2013", csv_path)], CropRecipe(40), cache_dir=cache)
    assert len(list(cache.glob("*.npz"))) == 2


def test_load_split_rereads_the_run_and_samples_stratified(tmp_path):
    csv_path = write_fer2013_csv(tmp_path / "fer" / "fer2013.csv", per_class=16)
    ck = write_ckplus48(tmp_path / "CK+48")
    run = tmp_path / "run"
    run.mkdir()
    cache = tmp_path / "cache"
    specs = [("fer2013", csv_path), ("ckplus", ck)]
    run_json = {
        "sources": [{"name": k, "kind": k, "path": str(p)} for k, p in specs],
        "parameters": {"image_size": 32, "seed": 0, "cache_dir": str(cache)},
    }
    (run / "run.json").write_text(json.dumps(run_json))
    full = data.load_split(run, "train")
    assert set(full.splits.tolist()) == {"train"} and len(full) > 60
    sample = data.load_split(run, "train", limit=14)
    assert len(sample) == 14
    assert set(sample.datasets.tolist()) == {"fer2013", "ckplus"}
    assert len(set(sample.labels.tolist())) == 7


def test_composition_and_class_weights(tmp_path):
    csv_path = write_fer2013_csv(tmp_path / "fer2013.csv", per_class=8)
    prepared = data.load_sources([("fer2013", csv_path)], CropRecipe(32), cache_dir=tmp_path / "c")
    prepared = data.cap_per_class(prepared, 3)
    comp = data.composition(prepared)
    counts = comp["datasets"]["fer2013"]["counts"]
    assert counts["happy"] == {"train": 3, "val": 1, "test": 1}
    weights = data.class_weights(np.array([0, 0, 0, 1]))
    assert weights[1] == pytest.approx(3 * weights[0]) and weights[6] == 1.0


def test_a_run_records_its_crop_recipe_and_later_steps_read_it_back():
    recipe = CropRecipe(48, 0.2, False)
    assert data.run_recipe({"crop": recipe.to_dict(), "parameters": {"image_size": 96}}) == recipe
    # A run folder from before the recipe was recorded: fer-train's recipe at its image size.
    assert data.run_recipe({"parameters": {"image_size": 64}}) == CropRecipe(64)


def test_a_dataset_with_no_usable_image_leaves_no_cache_entry(tmp_path, yunet_model):
    from fer_edge.faces.detect import create_detector

    root = tmp_path / "jaffe"
    root.mkdir()
    cv2.imwrite(str(root / "NA.SU1.79.tiff"), np.full((128, 128), 90, np.uint8))  # no face
    cache = tmp_path / "cache"
    detector = create_detector("yunet", yunet_model)
    prepared = data.load_sources(
        [("jaffe", root)], CropRecipe(48), cache_dir=cache, detector=detector
    )
    assert len(prepared) == 0 and prepared.skipped["jaffe"] == {"no face": 1}
    assert not cache.exists() or list(cache.iterdir()) == []


def test_prepared_soft_targets_survive_the_cache_and_a_fusion(tmp_path):
    root = ferplus_with_votes(tmp_path)
    ck = write_ckplus48(tmp_path / "CK+48")
    specs = [("ferplus", root), ("ckplus", ck)]
    cache = tmp_path / "cache"
    hard = data.load_sources(specs, CropRecipe(32), cache_dir=cache)
    assert hard.soft is None
    comp = data.composition(hard)
    assert comp["datasets"]["ferplus"]["skipped"]["tie"] == 2
    assert comp["datasets"]["ferplus"]["totals"] == {"train": 15, "val": 14, "test": 14}
    for _ in range(2):  # computed, then read back from the cache
        fused = data.load_sources(specs, CropRecipe(32), cache_dir=cache, label_mode="probability")
        assert fused.soft is not None and fused.soft.shape == (len(fused), len(LABELS))
        ferplus = fused.datasets == "ferplus"
        assert np.allclose(fused.soft.sum(axis=1), 1)
        # CK+ rows are one-hot; FER+ rows hold the votes (the ties split 50/50)
        ck_rows = fused.soft[~ferplus]
        assert np.array_equal(ck_rows.argmax(axis=1), fused.labels[~ferplus])
        assert (ck_rows.max(axis=1) == 1).all()
        assert (fused.soft[ferplus].max(axis=1) < 1).any()
        assert np.isclose(fused.soft[ferplus].max(axis=1), 0.5).sum() >= 2


def test_repeat_oversamples_one_dataset_of_the_training_set(tmp_path):
    ck = write_ckplus48(tmp_path / "CK+48")
    fer = write_fer2013_csv(tmp_path / "fer" / "fer2013.csv", per_class=2)
    fused = data.load_sources([("fer2013", fer), ("ckplus", ck)], CropRecipe(32))
    train = fused.select(fused.splits == "train")
    n_ck = int((train.datasets == "ckplus").sum())
    more = data.repeat_datasets(train, {"ckplus": 3})
    assert (more.datasets == "ckplus").sum() == 3 * n_ck
    assert (more.datasets == "fer2013").sum() == (train.datasets == "fer2013").sum()
    assert data.parse_repeat(["ckplus=8", "JAFFE=2"]) == {"ckplus": 8, "jaffe": 2}
    for bad in ("ckplus", "ckplus=0", "=3", "ckplus=x"):
        with pytest.raises(ConfigError, match="DATASET=N"):
            data.parse_repeat([bad])
    with pytest.raises(ConfigError, match="--repeat jaffe: no such dataset"):
        data.repeat_datasets(train, {"jaffe": 2})


def test_class_weight_modes():
    labels = np.array([0] * 9 + [1] * 4 + [2] * 1)
    n = np.bincount(labels, minlength=len(LABELS))
    for mode in data.CLASS_WEIGHTINGS:
        w = data.class_weights(labels, mode)
        total = sum(w[c] * n[c] for c in range(len(LABELS)))
        assert total == pytest.approx(len(labels)) and w[6] == 1.0  # absent class: 1
    balanced, root = data.class_weights(labels, "balanced"), data.class_weights(labels, "sqrt")
    assert balanced[1] / balanced[0] == pytest.approx(9 / 4)
    assert root[1] / root[0] == pytest.approx(1.5) and root[2] / root[0] == pytest.approx(3.0)
    assert set(data.class_weights(labels, "none").values()) == {1.0}
    with pytest.raises(data.ConfigError, match="class weighting"):
        data.class_weights(labels, "inverse")
