"""The crop step: square RGB crops of the recipe's size, margin, borders, alignment."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fer_edge.contract.recipe import CropRecipe
from fer_edge.faces.crop import crop_faces, crop_square
from fer_edge.faces.detect import YuNetDetector


def test_crop_is_square_rgb_of_the_recipe_size():
    image = np.zeros((101, 77, 3), np.uint8)
    image[..., 0] = 255  # blue in BGR
    crop = crop_square(image, (10, 20, 30, 41), CropRecipe(size=33, margin=0.2))
    assert crop.shape == (33, 33, 3) and crop.dtype == np.uint8
    assert (crop[..., 2] == 255).all() and (crop[..., :2] == 0).all()  # blue lands in RGB's B


def test_crop_greyscale_becomes_three_equal_channels():
    grey = np.arange(50 * 60, dtype=np.uint32).reshape(50, 60).astype(np.uint8)
    crop = crop_square(grey, (5, 5, 20, 20), CropRecipe(size=16, margin=0.0))
    assert crop.shape == (16, 16, 3)
    assert (crop[..., 0] == crop[..., 1]).all() and (crop[..., 1] == crop[..., 2]).all()


def test_crop_takes_the_margin_around_the_box_centre():
    image = np.zeros((200, 200, 3), np.uint8)
    cv2.rectangle(image, (80, 80), (119, 119), (255, 255, 255), -1)  # 40 px box
    crop = crop_square(image, (80, 80, 40, 40), CropRecipe(size=60, margin=0.25))
    # side = 40 * 1.5 = 60: the box fills the central 40 px, a 10 px black border around it
    assert crop[30, 30].min() == 255 and crop[5, 30].max() == 0 and crop[30, 55].max() == 0
    assert (crop[12:48, 12:48] == 255).all()


@pytest.mark.parametrize("box", [(0, 0, 30, 30), (170, 90, 30, 30), (-10, -10, 40, 40)])
def test_crop_clamps_at_image_borders_without_padding(box):
    rng = np.random.default_rng(0)
    image = rng.integers(1, 255, (120, 200, 3), dtype=np.uint8)
    crop = crop_square(image, box, CropRecipe(size=24, margin=0.5))
    assert crop.shape == (24, 24, 3)
    # clamped inside the image: no replicated/black padding rows at the borders
    assert crop.min() > 0


def test_crop_larger_than_image_shrinks_to_fit():
    image = np.full((40, 90, 3), 7, np.uint8)
    crop = crop_square(image, (10, 0, 60, 40), CropRecipe(size=20, margin=0.5))
    assert crop.shape == (20, 20, 3) and (crop == 7).all()


def test_alignment_levels_tilted_eyes():
    image = np.full((200, 200, 3), 255, np.uint8)
    right_eye, left_eye = (80.0, 90.0), (120.0, 110.0)  # tilted down by ~26.6°
    for x, y in (right_eye, left_eye):
        cv2.circle(image, (int(x), int(y)), 4, (0, 0, 0), -1)
    recipe = CropRecipe(size=100, margin=0.0)
    crop = crop_square(image, (50, 50, 100, 100), recipe, eyes=(right_eye, left_eye))
    dark = np.argwhere(crop.min(axis=2) < 100)
    left_half, right_half = dark[dark[:, 1] < 50], dark[dark[:, 1] >= 50]
    assert abs(left_half[:, 0].mean() - right_half[:, 0].mean()) < 2.0  # same row: level
    unaligned = crop_square(image, (50, 50, 100, 100), CropRecipe(100, 0.0, align=False))
    dark = np.argwhere(unaligned.min(axis=2) < 100)
    assert abs(dark[dark[:, 1] < 50][:, 0].mean() - dark[dark[:, 1] >= 50][:, 0].mean()) > 15


def test_crops_of_detections_follow_the_recipe(yunet_model, astronaut_bgr):
    detector = YuNetDetector(yunet_model)
    faces = detector.detect(astronaut_bgr)
    crops = crop_faces(astronaut_bgr, faces, CropRecipe(64))
    assert crops.shape == (1, 64, 64, 3) and crops.dtype == np.uint8
    # the crop of a crop is still a face
    again = detector.detect(cv2.resize(crops[0][:, :, ::-1], (160, 160)))
    assert len(again) == 1
    assert crop_faces(astronaut_bgr, [], CropRecipe(64)).shape == (0, 64, 64, 3)
