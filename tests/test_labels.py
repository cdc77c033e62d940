"""Canonical labels and every dataset's aliases and codes."""

from __future__ import annotations

import pytest

from fer_edge.contract.errors import UnknownLabelError
from fer_edge.contract.labels import (
    CKPLUS_CODES,
    FER2013_CODES,
    LABELS,
    allowed_names,
    canonical,
    index,
)


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
