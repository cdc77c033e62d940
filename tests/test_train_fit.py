"""The training stages: batches split evenly over replicas."""

from __future__ import annotations

import pytest

from helpers.skips import needs

needs("tensorflow")

pytestmark = pytest.mark.tf


def test_even_batch_makes_the_first_batch_split_over_replicas():
    from fer_train.fit import even_batch

    assert even_batch(100, 64, 2) == 64  # a full first batch: already a multiple
    assert even_batch(13, 16, 2) == 12  # 12 + 1: the short second batch is fine
    assert even_batch(1, 16, 2) == 0  # one image cannot feed two replicas
    assert even_batch(13, 16, 1) == 13
