"""Host-side augmentation: each transform, and everything off is the identity."""

from __future__ import annotations

import numpy as np

from fer_train.augment import Augment, shrink
from helpers.datasets import faces

NOTHING = dict(flip=False, rotation=0, shift=0, zoom=0, brightness=0, contrast=0, low_res_p=0)


def test_augment_with_everything_off_is_the_identity():
    images = faces()
    out = Augment(**NOTHING)(images, np.random.default_rng(0))
    assert out.dtype == np.uint8 and out is not images
    np.testing.assert_array_equal(out, images)


def test_flip_mirrors_about_half_of_the_images():
    images = faces(64)
    out = Augment(**{**NOTHING, "flip": True})(images, np.random.default_rng(0))
    same = [(o == i).all() for o, i in zip(out, images, strict=True)]
    mirrored = [(o == i[:, ::-1]).all() for o, i in zip(out, images, strict=True)]
    assert all(s or m for s, m in zip(same, mirrored, strict=True))
    assert 16 <= sum(mirrored) <= 48


def test_geometry_repeats_the_border_and_moves_content():
    flat = np.full((4, 32, 32, 3), 128, np.uint8)
    geometry = {**NOTHING, "rotation": 18.0, "shift": 0.08, "zoom": 0.1}
    out = Augment(**geometry)(flat, np.random.default_rng(0))
    np.testing.assert_array_equal(out, flat)  # no black corners: edges are repeated
    images = faces(4)
    moved = Augment(**geometry)(images, np.random.default_rng(0))
    assert all(not (m == i).all() for m, i in zip(moved, images, strict=True))


def test_brightness_and_contrast_stay_within_their_ranges():
    images = np.clip(faces(64).astype(int) // 2 + 64, 0, 255).astype(np.uint8)  # no saturation
    light = Augment(**{**NOTHING, "brightness": 0.15, "contrast": 0.15})
    out = light(images, np.random.default_rng(0)).astype(float)
    shift = out.mean(axis=(1, 2, 3)) - images.mean(axis=(1, 2, 3))
    assert np.abs(shift).max() <= 0.15 * 255 + 1 and np.abs(shift).max() > 5
    ratio = out.std(axis=(1, 2, 3)) / images.std(axis=(1, 2, 3))
    assert ratio.min() >= 0.85 - 0.02 and ratio.max() <= 1.15 + 0.02


def test_low_resolution_removes_detail_like_a_small_face():
    checker = (np.indices((32, 32)).sum(axis=0) % 2 * 255).astype(np.uint8)
    image = np.repeat(checker[:, :, None], 3, axis=2)
    small = shrink(image, 12)
    assert small.shape == image.shape and small.std() < 0.2 * image.std()
    np.testing.assert_array_equal(shrink(image, 32), image)  # no smaller than it is
    low = Augment(**{**NOTHING, "low_res_p": 1.0, "low_res_px": (12, 16)})
    out = low(np.stack([image] * 8), np.random.default_rng(0))
    assert all(o.std() < 0.35 * image.std() for o in out)
