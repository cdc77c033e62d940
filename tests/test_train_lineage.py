"""A fine-tuned model's card: its parent's training data and held-out subjects, no local paths."""

from __future__ import annotations

from fer_train import lineage

PARENT = {
    "datasets": [
        {"name": "fer2013", "kind": "fer2013", "path": "FER2013, Kaggle image-folder layout"},
        {"name": "ckplus", "kind": "ckplus", "path": "CK+48 (class folders)"},
        {"name": "jaffe", "kind": "jaffe", "path": "/home/someone/datasets/jaffe"},
    ],
    "held_out_subjects": {
        "ckplus": {"val": ["S050"], "test": ["S010", "S011", "S012"]},
        "jaffe": {"val": ["KA"], "test": ["KM", "NM"]},
    },
    "class_prior": {"anger": 1.0},
}


def test_merged_held_out_subjects_are_unseen_by_both_models():
    own = {"ckplus": {"val": ["S050"], "test": ["S010", "S011", "S099"]}}
    merged = lineage.merge_held_out(own, PARENT["held_out_subjects"])
    assert merged["ckplus"] == {"val": ["S050"], "test": ["S010", "S011"]}
    assert merged["jaffe"] == PARENT["held_out_subjects"]["jaffe"]  # only the parent used it


def test_datasets_list_the_parents_without_local_paths():
    own = [lineage.describe_source("ferplus", "ferplus", "majority")]
    listed = lineage.training_datasets(own, PARENT)
    assert [d["name"] for d in listed] == ["ferplus", "fer2013", "ckplus", "jaffe"]
    assert "majority labels" in listed[0]["description"] and "MIT" in listed[0]["description"]
    assert [d.get("via") for d in listed] == [None, "parent", "parent", "parent"]
    assert all("path" not in d for d in listed)
    assert listed[1]["description"].startswith("FER2013")
    assert "description" not in listed[3]  # an absolute path is no description
    record = lineage.parent_record(PARENT)
    assert record["held_out_subjects"] == PARENT["held_out_subjects"]
    assert all("path" not in d and "via" not in d for d in record["datasets"])
