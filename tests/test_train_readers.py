"""The dataset readers: FER2013 (CSV and image folders), CK+, FER+ (ten crowd votes per face:
label modes, drop counts), folders of labelled images, dataset specs."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from fer_edge.contract.errors import ConfigError, UnknownLabelError
from fer_edge.contract.labels import LABELS
from fer_train import readers
from fer_train.readers import ferplus_target, read_dataset
from fer_train.synth import pattern, write_fer2013_csv
from helpers.datasets import (
    CONTEMPT,
    MIXED,
    NOT_A_FACE,
    TIE,
    UNKNOWN,
    ferplus_with_votes,
    pixels,
    write_fer2013_rows,
)


def test_majority_and_probability_targets_follow_the_votes():
    assert ferplus_target(MIXED, "majority") == ("neutral", None)
    assert ferplus_target(TIE, "majority") == "tie"
    assert ferplus_target(UNKNOWN, "majority") == "majority unknown"
    assert ferplus_target(NOT_A_FACE, "majority") == "majority not a face"
    assert ferplus_target(CONTEMPT, "majority") == "majority contempt"
    label, soft = ferplus_target(MIXED, "probability")
    assert label == "neutral"
    expected = dict.fromkeys(LABELS, 0.0) | {"neutral": 5 / 9, "sadness": 3 / 9, "anger": 1 / 9}
    assert soft == pytest.approx([expected[lb] for lb in LABELS])
    # a tie is kept as a distribution; faces mostly voted outside our seven are dropped
    assert ferplus_target(TIE, "probability")[1][LABELS.index("happy")] == pytest.approx(0.5)
    assert isinstance(ferplus_target(NOT_A_FACE, "probability"), str)
    assert isinstance(ferplus_target(CONTEMPT, "probability"), str)
    with pytest.raises(ConfigError, match="label mode"):
        ferplus_target(MIXED, "vote")


def test_folders_keep_their_splits_and_count_each_drop(tmp_path):
    root = ferplus_with_votes(tmp_path)
    listing = read_dataset("ferplus", root)
    splits = [r.split for r in listing.records]
    # 2 a class and split, plus MIXED (a neutral majority) in train
    assert splits.count("train") == 15 and splits.count("val") == 14
    assert splits.count("test") == 14
    assert dict(listing.skipped) == {
        "tie": 2,
        "majority unknown": 1,
        "majority not a face": 1,
        "majority contempt": 2,
    }
    assert {r.label for r in listing.records} == set(LABELS)
    assert all(r.soft is None and r.cropped for r in listing.records)
    soft = read_dataset("ferplus", root, label_mode="probability")
    assert len(soft.records) == 15 + 14 + 14 + 2  # the two ties are kept as distributions
    assert all(abs(sum(r.soft) - 1) < 1e-6 for r in soft.records)


def test_csv_layout_reads_votes_row_by_row(tmp_path):
    root = tmp_path / "fer"
    fer = write_fer2013_csv(root / "fer2013.csv", per_class=1)
    with open(fer, newline="") as fh:
        rows = list(csv.DictReader(fh))
    votes = [MIXED, TIE, CONTEMPT, NOT_A_FACE, MIXED, MIXED, MIXED]
    with open(root / "fer2013new.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Usage", "Image name", "neutral", "happiness", "surprise", "sadness",
                         "anger", "disgust", "fear", "contempt", "unknown", "NF"])  # fmt: skip
        for i, (row, v) in enumerate(zip(rows, votes, strict=True)):
            name = "" if i == 6 else f"fer{i:07d}.png"  # FER+ removed the last face
            writer.writerow([row["Usage"], name, *v])
    listing = read_dataset("ferplus", root)
    assert [r.label for r in listing.records] == ["neutral"] * 3
    assert dict(listing.skipped) == {
        "tie": 1,
        "majority contempt": 1,
        "majority not a face": 1,
        "removed by FER+": 1,
    }
    assert listing.records[0].pixels.shape == (48, 48)


def test_bad_label_rows_name_the_file_and_row(tmp_path):
    folder = tmp_path / "ferplus" / "FER2013Train"
    folder.mkdir(parents=True)
    cv2.imwrite(str(folder / "a.png"), pattern("happy", np.random.default_rng(0)))
    (folder / "label.csv").write_text('a.png,"(0, 0, 48, 48)",1,2,x,0,0,0,0,0,0,0\n')
    with pytest.raises(ConfigError, match=r"label.csv:1: not a FER\+ label row"):
        read_dataset("ferplus", tmp_path / "ferplus")
    with pytest.raises(ConfigError, match="no FER\\+ data"):
        read_dataset("ferplus", tmp_path)


def test_fer2013_csv_unknown_code_names_the_row(tmp_path):
    csv_path = write_fer2013_rows(
        tmp_path / "fer2013.csv", [(0, pixels(1), "Training"), (9, "", "Training")]
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
