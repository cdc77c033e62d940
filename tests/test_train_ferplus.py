"""FER+ (ten crowd votes per FER2013 face): the reader's label modes, drop counts and fusion."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from fer_edge.contract.errors import ConfigError
from fer_edge.contract.labels import LABELS
from fer_edge.contract.recipe import CropRecipe
from fer_train import data
from fer_train.readers import ferplus_target, read_dataset
from fer_train.synth import pattern, write_ckplus48, write_fer2013_csv, write_ferplus

# label.csv vote order: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt,
# unknown, NF
TIE = [4, 4, 0, 0, 0, 0, 0, 0, 2, 0]  # neutral = happiness
UNKNOWN = [2, 1, 0, 0, 0, 0, 0, 0, 6, 1]
NOT_A_FACE = [0, 0, 0, 0, 0, 0, 0, 0, 0, 10]
CONTEMPT = [3, 0, 0, 0, 0, 0, 0, 6, 1, 0]
MIXED = [5, 0, 0, 3, 1, 0, 0, 0, 1, 0]  # neutral 5, sadness 3, anger 1, unknown 1


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


def _ferplus(tmp_path: Path) -> Path:
    extra = {"train": [TIE, UNKNOWN, NOT_A_FACE, CONTEMPT, MIXED], "test": [TIE, CONTEMPT]}
    return write_ferplus(tmp_path / "ferplus", per_class=2, extra=extra)


def test_folders_keep_their_splits_and_count_each_drop(tmp_path):
    root = _ferplus(tmp_path)
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


def test_prepared_soft_targets_survive_the_cache_and_a_fusion(tmp_path):
    root = _ferplus(tmp_path)
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
