"""Keras backends and devices: the precision policy, data parallelism over two devices."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from fer_train.devices import Accelerators, choose_policy
from helpers.skips import needs

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
