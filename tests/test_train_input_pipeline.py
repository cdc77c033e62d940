"""The training input pipeline: batches weighed, shuffled and augmented reproducibly."""

from __future__ import annotations

import numpy as np

from fer_edge.contract.labels import LABELS
from fer_train.augment import Augment
from helpers.datasets import faces
from helpers.skips import needs


def test_batches_weigh_shuffle_and_augment_reproducibly():
    needs("keras")
    from fer_train.input_pipeline import Batches

    images, labels = faces(20), np.arange(20) % len(LABELS)
    weights = np.arange(1, len(LABELS) + 1, dtype=np.float32)

    def make(**kw):
        return Batches(images, labels, 8, class_weights=weights, shuffle=True, seed=3, **kw)

    batches = make(augment=Augment())
    assert len(batches) == 3 and len(make(drop_remainder=True)) == 2
    x, y, w = batches[1]
    assert x.dtype == np.uint8 and x.shape == (8, 32, 32, 3)  # the model casts on the device
    np.testing.assert_array_equal(w, weights[y])
    seen = np.concatenate([batches[i][1] for i in range(3)])
    assert sorted(seen.tolist()) == sorted(labels.tolist())  # every image once an epoch
    again = make(augment=Augment())
    np.testing.assert_array_equal(again[2][0], batches[2][0])  # order of calls does not matter
    np.testing.assert_array_equal(again[1][0], x)
    batches.on_epoch_end()
    assert not np.array_equal(batches[1][1], y) or not np.array_equal(batches[1][0], x)
    again.set_epoch(1)  # a resumed run's epoch 1 is the same epoch 1
    np.testing.assert_array_equal(again[1][0], batches[1][0])
