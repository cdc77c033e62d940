"""The host-side input pipeline, class weighting modes, device/precision choice, CLI presets."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from fer_edge.contract.labels import LABELS
from fer_train import data
from fer_train.augment import Augment, shrink
from fer_train.devices import Accelerators, choose_policy
from helpers.skips import needs

NOTHING = dict(flip=False, rotation=0, shift=0, zoom=0, brightness=0, contrast=0, low_res_p=0)


def faces(n=8, size=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)


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


def test_class_weight_modes():
    labels = np.array([0] * 9 + [1] * 4 + [2] * 1)
    n = np.bincount(labels, minlength=len(LABELS))
    for mode in data.CLASS_WEIGHTINGS:
        w = data.class_weights(labels, mode)
        total = sum(w[c] * n[c] for c in range(len(LABELS)))
        assert total == pytest.approx(len(labels)) and w[6] == 1.0  # absent class: 1
    balanced, root = data.class_weights(labels, "balanced"), data.class_weights(labels, "sqrt")
    assert balanced[1] / balanced[0] == pytest.approx(9 / 4)
    assert root[1] / root[0] == pytest.approx(1.5) and root[2] / root[0] == pytest.approx(3.0)
    assert set(data.class_weights(labels, "none").values()) == {1.0}
    with pytest.raises(data.ConfigError, match="class weighting"):
        data.class_weights(labels, "inverse")


def test_precision_policy_by_backend_and_hardware():
    cpu, ampere, old = Accelerators(), Accelerators(("gpu:0",), True), Accelerators(("gpu:0",))
    assert choose_policy("jax", cpu) == "float32"
    assert choose_policy("torch", cpu) == "float32"
    assert choose_policy("jax", ampere) == "mixed_bfloat16"
    assert choose_policy("torch", ampere) == "mixed_bfloat16"
    assert choose_policy("torch", old) == "mixed_float16"  # no bfloat16 before Ampere
    assert choose_policy("tensorflow", ampere) == "mixed_float16"
    assert choose_policy("jax", ampere, "float32") == "float32"
    assert choose_policy("tensorflow", cpu, "bfloat16") == "mixed_bfloat16"


def invoke(*args):
    from fer_train.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


def test_recipe_default_fills_what_the_command_line_leaves_out(tmp_path, monkeypatch):
    from fer_train import workflow

    seen = {}

    def fake_fit_run(specs, out, params, prep, max_per_class=None, repeat=None):
        seen["params"] = params
        return {}

    monkeypatch.setattr(workflow, "fit_run", fake_fit_run)
    result = invoke("fit", "--data", f"folder={tmp_path}", "--out", tmp_path / "o",
                    "--recipe", "default", "--epochs", 2, "--low-res-px", "16,30")  # fmt: skip
    assert result.exit_code == 0, result.output
    params = seen["params"]
    assert (params.image_size, params.weights, params.batch_size) == (96, "none", 256)
    assert (params.epochs, params.fine_tune_epochs) == (2, 0)  # --epochs given: kept
    assert params.class_weights == "balanced" and params.low_res_p == 0.5
    assert (params.low_res_min, params.low_res_max) == (16, 30)


def test_fit_options_are_fitparams_fields_checked_against_their_ranges(tmp_path, monkeypatch):
    from fer_train import workflow
    from fer_train.fit import FitParams

    seen = []
    monkeypatch.setattr(
        workflow, "fit_run", lambda specs, out, params, prep, **kw: seen.append(params) or {}
    )
    data = ["--data", f"folder={tmp_path}", "--out", tmp_path / "o"]
    assert invoke("fit", *data).exit_code == 0
    assert seen == [FitParams()]  # nothing given: FitParams' own defaults, stated once
    for flag, value, needle in [
        ("--low-res-p", "1.5", "low-res-p 1.5: must be <= 1"),
        ("--epochs", "-1", "epochs -1: must be >= 0"),
        ("--batch-size", "0", "batch-size 0: must be >= 1"),
    ]:
        result = invoke("fit", *data, flag, value)
        assert result.exit_code == 78 and needle in result.output, result.output
    assert len(seen) == 1


def test_bad_face_sizes_are_one_line_usage_errors(tmp_path):
    model = tmp_path / "m.keras"
    model.write_bytes(b"x")
    result = invoke("evaluate", model, "--data", f"folder={tmp_path}", "--out", tmp_path / "e",
                    "--face-px", "16,big")  # fmt: skip
    assert result.exit_code == 2 and "expected whole numbers" in result.output
    result = invoke("fit", "--data", f"folder={tmp_path}", "--out", tmp_path / "o",
                    "--low-res-px", "48,12")  # fmt: skip
    assert result.exit_code == 2 and "MIN <= MAX" in result.output


JAX_TWO_DEVICES = """
import sys
from pathlib import Path

from fer_train import devices, fit, workflow
from fer_train.synth import write_fer2013_csv

# What find_accelerators returns on a machine with two bfloat16 GPUs; here two host CPUs.
devices.find_accelerators = lambda name: devices.Accelerators(("cpu:0", "cpu:1"), True)
root = Path(sys.argv[1])
fer = write_fer2013_csv(root / "fer2013" / "fer2013.csv", per_class=8)
params = fit.FitParams(image_size=32, weights="none", epochs=1, fine_tune_epochs=0, batch_size=4)
workflow.fit_run([("fer2013", fer)], root / "run", params)
"""


@pytest.mark.slow
def test_jax_data_parallel_over_two_devices_with_bfloat16(tmp_path):
    """The multi-GPU path on JAX (DataParallel, mixed bfloat16), on two forced host devices.

    Batches of 8 split 4 + 4 over the devices; the last partial training batch is left out
    and the validation split cut to an even count, so that every batch splits evenly.
    """
    needs("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    result = subprocess.run(
        [sys.executable, "-c", JAX_TWO_DEVICES, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert "mixed_bfloat16, data parallel over 2" in history["devices"]
    assert len(history["stages"][0]["history"]["val_loss"]) == 1
