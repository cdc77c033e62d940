"""Shared fixtures: the YuNet test model, real public-domain face images, a clip of them, the
astronaut's 96 px crop, a fer-train face folder, a tiny int8 model and a Mosquitto broker
(helpers that tests import live in tests/helpers/)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers.clips import write_face_clip
from helpers.mosquitto import Broker
from helpers.skips import find_yunet_for_tests, needs


@pytest.fixture(scope="session")
def yunet_model() -> Path:
    path, why = find_yunet_for_tests()
    if path is None:
        pytest.skip(why)
    return path


@pytest.fixture(scope="session")
def astronaut_bgr() -> np.ndarray:
    """scikit-image's astronaut photo (public domain) as an OpenCV BGR image."""
    data = needs("skimage.data")
    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])


@pytest.fixture(scope="session")
def head_bgr(astronaut_bgr) -> np.ndarray:
    """The astronaut's head and shoulders, for tiling into multi-face frames."""
    return np.ascontiguousarray(astronaut_bgr[10:230, 120:330])


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A tiny int8 TFLite model and its card (built with TensorFlow, skipped without it)."""
    needs("tensorflow")
    from helpers.tiny_model import make_tiny_tflite

    return make_tiny_tflite(tmp_path_factory.mktemp("model"), size=32, mode="int8")


@pytest.fixture(scope="module")
def clip(tmp_path_factory, head_bgr) -> Path:
    """A 30-frame clip of 15 tiled astronaut heads (a module may define its own ``clip``)."""
    return write_face_clip(tmp_path_factory.mktemp("clip") / "faces.avi", head_bgr, 30)


@pytest.fixture
def broker(tmp_path):
    """A Mosquitto broker on 127.0.0.1 (skipped where mosquitto is not installed)."""
    b = Broker(tmp_path / "broker")
    yield b
    b.stop()


@pytest.fixture(scope="module")
def astronaut_crop(astronaut_bgr, yunet_model) -> np.ndarray:
    """The astronaut's face through the device's detector and the default crop recipe."""
    from fer_edge.contract.recipe import CropRecipe
    from fer_edge.faces.crop import crop_faces
    from fer_edge.faces.detect import create_detector

    faces = create_detector("yunet", yunet_model).detect(astronaut_bgr)
    return crop_faces(astronaut_bgr, faces[:1], CropRecipe(96))[0]


@pytest.fixture
def faces(tmp_path, head_bgr) -> Path:
    """A folder of generated face photos in fer-train's class-folder layout, two a class."""
    from fer_train.synth import write_face_folder

    return write_face_folder(tmp_path / "faces", head_bgr, per_class=2)
