"""Where training runs: the Keras backend, its GPUs, mixed precision and data parallelism.

Keras picks its backend from ``KERAS_BACKEND`` (tensorflow, jax or torch) when it is first
imported. Nothing here imports TensorFlow unless it is the backend, so fer-train runs on a
machine that has only JAX or only PyTorch.

- Mixed precision where the GPU has it: float16 on TensorFlow (with loss scaling), bfloat16 on
  JAX and PyTorch when every GPU supports it (compute capability 8.0 and newer), else float16.
  The CPU trains in float32. Variables, BatchNorm statistics included, stay float32 under
  either policy, and models are saved in float32 (:func:`fer_train.model.save_model`).
- Several GPUs: TensorFlow mirrors the model (``MirroredStrategy``), JAX shards each batch over
  them (``keras.distribution.DataParallel``); Keras' PyTorch backend has no in-process data
  parallelism, so it uses the first GPU only and says so.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)

BACKENDS = ("tensorflow", "jax", "torch")
#: ``--precision`` choices: auto picks by backend and hardware (:func:`choose_policy`).
PRECISIONS = ("auto", "float32", "bfloat16", "float16")


@dataclass(frozen=True)
class Accelerators:
    """The GPUs a backend sees: Keras device names and whether all of them do bfloat16."""

    names: tuple[str, ...] = ()
    bfloat16: bool = False


@dataclass
class Devices:
    """What training runs on; ``scope()`` wraps model building and compiling."""

    backend: str
    gpus: int
    policy: str
    replicas: int = 1
    strategy: object | None = None  # a tf.distribute strategy on TensorFlow
    note: str = ""

    def scope(self):
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    def describe(self) -> str:
        import keras

        where = f"{self.gpus} GPU{'s' if self.gpus != 1 else ''}" if self.gpus else "the CPU"
        parallel = f", data parallel over {self.replicas}" if self.replicas > 1 else ""
        note = f" ({self.note})" if self.note else ""
        policy = f"{self.policy}{parallel}{note}"
        return f"Keras {keras.__version__} on {self.backend}, {where}, {policy}"


def backend() -> str:
    import keras

    return keras.backend.backend()


def find_accelerators(name: str) -> Accelerators:
    """The GPUs ``name`` (a Keras backend) can use."""
    if name == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return Accelerators(tuple(f"gpu:{i}" for i in range(len(gpus))), False)
    if name == "jax":
        import jax

        gpus = [d for d in jax.devices() if d.platform in ("gpu", "cuda", "rocm")]
        capable = all(_capability(getattr(d, "compute_capability", "0")) >= 8.0 for d in gpus)
        return Accelerators(tuple(f"gpu:{d.id}" for d in gpus), bool(gpus) and capable)
    if name == "torch":
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        bf16 = bool(count) and torch.cuda.is_bf16_supported()
        return Accelerators(tuple(f"cuda:{i}" for i in range(count)), bf16)
    return Accelerators()


def _capability(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def choose_policy(name: str, found: Accelerators, requested: str = "auto") -> str:
    """The Keras dtype policy: ``requested`` explicitly, or by backend and hardware."""
    if requested == "float32":
        return "float32"
    if requested in ("bfloat16", "float16"):
        return f"mixed_{requested}"
    if not found.names:
        return "float32"
    if name == "tensorflow" or not found.bfloat16:
        return "mixed_float16"
    return "mixed_bfloat16"


def setup(precision: str = "auto") -> Devices:
    """Set the global dtype policy (and a JAX distribution); return what training runs on."""
    import keras

    name = backend()
    found = find_accelerators(name)
    policy = choose_policy(name, found, precision)
    keras.mixed_precision.set_global_policy(policy)
    gpus = len(found.names)
    if name == "tensorflow":
        import tensorflow as tf

        strategy = tf.distribute.MirroredStrategy() if gpus else tf.distribute.get_strategy()
        return Devices(name, gpus, policy, strategy.num_replicas_in_sync, strategy)
    if name == "jax" and gpus > 1:
        devices = list(found.names)
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        return Devices(name, gpus, policy, len(devices))
    if name == "torch" and gpus > 1:
        note = f"uses 1 of {gpus} GPUs: Keras' torch backend has no in-process data parallelism"
        return Devices(name, 1, policy, note=note)
    return Devices(name, gpus, policy)


def release(devices: Devices) -> None:
    """Undo :func:`setup`'s global state (dtype policy, JAX distribution)."""
    import keras

    keras.mixed_precision.set_global_policy("float32")
    if devices.backend == "jax" and devices.replicas > 1:
        keras.distribution.set_distribution(None)
