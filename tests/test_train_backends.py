"""``fer-train`` on each Keras backend (TensorFlow, JAX, PyTorch), each in its own process.

Per backend, one run (32 px, a few images, mixed precision as on a GPU): started, killed after
its first epoch, resumed, evaluated at simulated face sizes, its model.keras predicted with on
that backend and on TensorFlow, then converted by fer-convert to int8. JAX and PyTorch runs
happen behind an import hook that makes ``import tensorflow`` fail.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from fer_edge.contract.card import read_card
from fer_edge.contract.labels import LABELS
from fer_train.synth import pattern, write_fer2013_csv
from helpers.skips import needs

pytestmark = pytest.mark.slow

#: The policy each backend would pick on a GPU (fer_train.devices.choose_policy).
PRECISION = {"tensorflow": "float16", "jax": "bfloat16", "torch": "bfloat16"}
PACKAGE = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}

#: sitecustomize.py for the JAX and PyTorch runs: TensorFlow looks uninstalled to every finder.
NO_TENSORFLOW = """
import sys


class _WithoutTensorFlow:
    def __init__(self, finder):
        self.finder = finder

    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            return None
        return self.finder.find_spec(name, path, target)

    def __getattr__(self, attr):
        return getattr(self.finder, attr)


sys.meta_path[:] = [_WithoutTensorFlow(f) if hasattr(f, "find_spec") else f for f in sys.meta_path]
"""


def run_cli(tool, args, backend, *, block_tf, log=None, check=True):
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONUNBUFFERED": "1"}
    if block_tf:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(block_tf), env.get("PYTHONPATH")]))
    cmd = [sys.executable, "-m", f"{tool}.cli", *map(str, args)]
    if log is not None:
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    if check:
        assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return result


def wait_for(pattern_text, path, proc, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if re.search(pattern_text, path.read_text()):
            return
        assert proc.poll() is None, path.read_text()[-3000:]
        time.sleep(0.2)
    raise AssertionError(f"{pattern_text!r} not seen in {timeout} s: {path.read_text()[-3000:]}")


def float_datasets(h5file):
    """(name, array) of every floating-point dataset in an open h5py file."""
    import h5py

    found = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.dtype.kind == "f":
            found.append((name, obj[()]))

    h5file.visititems(visit)
    return found


@pytest.fixture(scope="module", params=["jax", "torch", "tensorflow"])
def backend_run(request, tmp_path_factory):
    backend = request.param
    if importlib.util.find_spec(PACKAGE[backend]) is None:
        pytest.skip(
            f"{PACKAGE[backend]} is not installed: make backends (the train-{backend} extra)"
        )
    root = tmp_path_factory.mktemp(f"run-{backend}")
    block = None
    if backend != "tensorflow":
        block = root / "no-tensorflow"
        block.mkdir()
        (block / "sitecustomize.py").write_text(NO_TENSORFLOW)
        probe = subprocess.run(
            [sys.executable, "-c", "import tensorflow"],
            env={**os.environ, "PYTHONPATH": str(block)},
            capture_output=True,
            text=True,
        )
        assert "No module named 'tensorflow'" in probe.stderr  # the hook works
    fer = write_fer2013_csv(root / "fer2013" / "fer2013.csv", per_class=8)
    run = root / "run"
    args = ["fit", "--data", f"fer2013={fer.parent}", "--out", run, "--image-size", 32,
            "--weights", "none", "--epochs", 3, "--fine-tune-epochs", 0, "--batch-size", 8,
            "--precision", PRECISION[backend], "--workers", 2,
            "--cache-dir", root / "cache"]  # fmt: skip
    first_log = root / "first.log"
    with first_log.open("w") as log:
        proc = run_cli("fer_train", args, backend, block_tf=block, log=log)
        try:
            wait_for(r"Epoch 2/3", first_log, proc)  # epoch 1 is backed up
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        finally:
            proc.kill()
    interrupted = (run / "checkpoints" / "backup-scratch").is_dir()
    # -v: Keras' own warnings stay visible (a dropped optimizer state would show there).
    resumed = run_cli("fer_train", ["-v", *args, "--resume"], backend, block_tf=block)
    faces = root / "faces"
    faces.mkdir()
    rng = np.random.default_rng(1)
    for i in range(4):
        cv2.imwrite(str(faces / f"{i}.png"), pattern(LABELS[i], rng))
    run_cli(
        "fer_train",
        ["evaluate", run / "model.keras", "--data", f"fer2013={fer.parent}",
         "--out", root / "evaluation", "--face-px", "16,24", "--cache-dir", root / "cache"],
        backend, block_tf=block,
    )  # fmt: skip
    run_cli(
        "fer_train",
        ["predict", run / "model.keras", faces, "--csv", root / "predict.csv"],
        backend,
        block_tf=block,
    )
    return {
        "backend": backend,
        "root": root,
        "run": run,
        "faces": faces,
        "interrupted": interrupted,
        "resume_output": resumed.stdout + resumed.stderr,
    }


def read_probs(path: Path) -> np.ndarray:
    rows = list(csv.DictReader(path.open()))
    return np.array([[float(row[label]) for label in LABELS] for row in rows])


def test_resume_finishes_the_killed_run(backend_run):
    run = backend_run["run"]
    assert backend_run["interrupted"], "the first run was not killed after an epoch"
    assert (run / "model.keras").is_file()
    assert not (run / "checkpoints" / "backup-scratch").exists()
    stage = json.loads((run / "history.json").read_text())["stages"][0]
    assert 1 <= len(stage["history"]["loss"]) <= 2, stage  # not the epoch already done
    assert "Skipping variable loading" not in backend_run["resume_output"]


def test_the_card_says_backend_policy_and_class_weights(backend_run):
    backend = backend_run["backend"]
    card = read_card(backend_run["run"] / "model_card.json")
    assert f"on {backend}," in card.training["backend"]
    assert f"mixed_{PRECISION[backend]}" in card.training["backend"]
    assert card.training["class_weights"] == "balanced"
    assert sum(card.class_prior) == pytest.approx(1.0, abs=1e-3)


def test_saved_weights_and_batchnorm_statistics_are_float32_and_finite(backend_run):
    """Mixed-precision training; still every float saved (BatchNorm statistics too) is float32."""
    import h5py

    run = backend_run["run"]
    with zipfile.ZipFile(run / "model.keras") as archive:
        files = {"model.keras": h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")}
    for path in sorted((run / "checkpoints").glob("*.h5")):
        files[path.name] = h5py.File(path, "r")
    assert "scratch.weights.h5" in files
    for name, h5file in files.items():
        with h5file:
            arrays = float_datasets(h5file)
            bn = [n for n, _ in arrays if "batch_normalization" in n]
            assert len(bn) >= 4 * 53, (name, len(bn))  # ResNet50: 53 BN layers x 4 variables
            for dataset, value in arrays:
                assert value.dtype == np.float32, (name, dataset, value.dtype)
                assert np.isfinite(value).all(), (name, dataset)


def test_evaluate_reports_simulated_face_sizes(backend_run):
    report = json.loads((backend_run["root"] / "evaluation" / "report.json").read_text())
    result = report["datasets"]["fer2013"]
    assert result["split"] == "test" and set(result["face_px"]) == {"16", "24"}
    for row in result["face_px"].values():
        assert 0.0 <= row["accuracy"] <= 1.0
        assert list(row["predicted_shares"]) == list(LABELS)
        assert sum(row["predicted_shares"].values()) == pytest.approx(1.0, abs=1e-3)
    md = (backend_run["root"] / "evaluation" / "report.md").read_text()
    assert "| 16 |" in md and "| true |" in md


@pytest.mark.tf
def test_the_keras_file_predicts_the_same_on_tensorflow(backend_run, tmp_path):
    needs("tensorflow")
    root = backend_run["root"]
    run_cli(
        "fer_train",
        ["predict", backend_run["run"] / "model.keras", backend_run["faces"],
         "--csv", tmp_path / "tf.csv"],
        "tensorflow", block_tf=None,
    )  # fmt: skip
    np.testing.assert_allclose(
        read_probs(tmp_path / "tf.csv"), read_probs(root / "predict.csv"), atol=2e-3
    )


@pytest.mark.tf
def test_fer_convert_makes_the_int8_contract_from_any_backend(backend_run):
    needs("tensorflow")
    from fer_edge.classify.runtime import Classifier

    run = backend_run["run"]
    # KERAS_BACKEND left at the training backend: fer-convert switches to TensorFlow itself.
    run_cli("fer_convert", [run, "--int8", "--force"], backend_run["backend"], block_tf=None)
    card = read_card(run / "model_int8.json")
    assert card.mode == "int8" and card.input_dtype == "int8" and card.input_size == 32
    assert card.training["class_weights"] == "balanced" and card.class_prior is not None
    paths = sorted(backend_run["faces"].glob("*.png"))
    crops = np.stack([cv2.resize(cv2.imread(str(p)), (32, 32), cv2.INTER_AREA) for p in paths])
    probs = Classifier(run / "model_int8.tflite").predict(crops)
    assert probs.shape == (4, len(LABELS)) and np.allclose(probs.sum(axis=1), 1.0, atol=0.05)
