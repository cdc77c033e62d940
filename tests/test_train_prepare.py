"""Prepared faces: concatenating prepared datasets keeps rows in order with their metadata."""

from __future__ import annotations

import numpy as np


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
