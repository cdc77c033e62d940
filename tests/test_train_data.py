"""fer_train's readers, preparation cache and fusion on fixtures in the real on-disk formats."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from fer_edge.contract.errors import ConfigError, ImageReadError, UnknownLabelError
from fer_edge.contract.labels import LABELS
from fer_edge.contract.recipe import CropRecipe
from fer_train import data, readers
from fer_train.readers import read_dataset
from fer_train.synth import pattern, write_ckplus48, write_fer2013_csv


def _write_csv(path: Path, rows: list[tuple]) -> Path:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["emotion", "pixels", "Usage"])
        writer.writerows(rows)
    return path


def _pixels(value: int) -> str:
    return " ".join([str(value)] * 48 * 48)


def test_fer2013_csv_splits_codes_and_cross_split_duplicates(tmp_path):
    csv_path = _write_csv(
        tmp_path / "fer2013.csv",
        [
            (0, _pixels(10), "Training"),  # anger
            (6, _pixels(20), "Training"),  # neutral
            (3, _pixels(30), "Training"),  # a copy of the PrivateTest image below
            (3, _pixels(30), "PrivateTest"),
            (5, _pixels(40), "PublicTest"),  # surprise
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


def test_fer2013_csv_unknown_code_names_the_row(tmp_path):
    csv_path = _write_csv(
        tmp_path / "fer2013.csv", [(0, _pixels(1), "Training"), (9, "", "Training")]
    )
    with pytest.raises(UnknownLabelError, match=r"fer2013.csv:3: .*allowed: .*anger"):
        read_dataset("fer2013", csv_path)


def test_fer2013_image_folders_public_private_test(tmp_path):
    rng = np.random.default_rng(0)
    for part, label, name in [
        ("train", "angry", "Training_1.jpg"),
        ("train", "sad", "Training_2.jpg"),
        ("test", "happy", "PublicTest_3.jpg"),
        ("test", "surprise", "PrivateTest_4.jpg"),
    ]:
        folder = tmp_path / part / label
        folder.mkdir(parents=True)
        cv2.imwrite(str(folder / name), pattern(LABELS[rng.integers(7)], rng))
    listing = read_dataset("fer2013", tmp_path)
    got = {(r.label, r.split) for r in listing.records}
    assert got == {("anger", "train"), ("sadness", "train"), ("happy", "val"), ("surprise", "test")}


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


def test_unknown_folder_label_lists_allowed_names(tmp_path):
    (tmp_path / "bored").mkdir()
    cv2.imwrite(str(tmp_path / "bored" / "a.png"), np.zeros((8, 8), np.uint8))
    with pytest.raises(UnknownLabelError, match=r"bored.*allowed: .*surprise"):
        read_dataset("folder", tmp_path)


def test_ckplus_original_release_peak_frames_and_neutral_first(tmp_path):
    for subject, seq, code in [("S005", "001", "3.0000000e+00"), ("S010", "002", "6.0000000e+00")]:
        frames = tmp_path / "cohn-kanade-images" / subject / seq
        frames.mkdir(parents=True)
        for f in range(1, 7):
            (frames / f"{subject}_{seq}_{f:08d}.png").write_bytes(b"")
        labels = tmp_path / "Emotion" / subject / seq
        labels.mkdir(parents=True)
        (labels / f"{subject}_{seq}_00000006_emotion.txt").write_text(f"   {code}\n")
    unlabelled = tmp_path / "cohn-kanade-images" / "S011" / "001"
    unlabelled.mkdir(parents=True)
    (unlabelled / "S011_001_00000001.png").write_bytes(b"")
    records = read_dataset("ckplus", tmp_path).records
    got = [(r.subject, Path(r.source).name[-6:-4], r.label) for r in records]
    assert got == [
        ("S005", "01", "neutral"),
        ("S005", "04", "disgust"),
        ("S005", "05", "disgust"),
        ("S005", "06", "disgust"),
        ("S010", "01", "neutral"),
        ("S010", "04", "sadness"),
        ("S010", "05", "sadness"),
        ("S010", "06", "sadness"),
    ]
    assert not any(r.cropped for r in records)


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


def test_parse_spec(tmp_path):
    assert readers.parse_spec(f"JAFFE={tmp_path}") == ("jaffe", tmp_path)
    with pytest.raises(ConfigError, match="unknown dataset kind 'affectnet'"):
        readers.parse_spec(f"affectnet={tmp_path}")
    with pytest.raises(ConfigError, match="KIND=PATH"):
        readers.parse_spec(str(tmp_path))
    with pytest.raises(ConfigError, match="not found"):
        readers.parse_spec(f"folder={tmp_path / 'missing'}")


def test_parse_spec_expands_a_home_tilde(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "school").mkdir()
    assert readers.parse_spec("folder=~/school") == ("folder", tmp_path / "school")


def test_concat_keeps_rows_in_order_with_their_metadata():
    from fer_train.prepare import Prepared

    def part(name, values, split):
        n = len(values)
        images = np.stack([np.full((4, 4, 3), v, np.uint8) for v in values])
        return Prepared(
            images, np.array(values) % 7, np.array([name] * n), np.array([split] * n),
            np.array([f"{name}{v}" for v in values]), {name: {"corrupt": 1}},
            np.array([str(v) for v in values]),
        )  # fmt: skip

    parts = [part("a", [1, 2, 3], "train"), part("b", [4, 5], "test")]
    fused = Prepared.concat(parts, 4, np.array([True, False, True, True, False]))
    assert fused.images[:, 0, 0, 0].tolist() == [1, 3, 4]
    assert fused.labels.tolist() == [1, 3, 4] and fused.splits.tolist() == ["train"] * 2 + ["test"]
    assert fused.subjects.tolist() == ["a1", "a3", "b4"] and fused.hashes.tolist() == [
        "1",
        "3",
        "4",
    ]
    assert fused.skipped == {"a": {"corrupt": 1}, "b": {"corrupt": 1}}
    assert len(Prepared.concat(parts, 4)) == 5


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
