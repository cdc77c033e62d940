"""Training on any Keras backend: host-side input pipeline, fine-tuning or from scratch, resumable.

Runs on TensorFlow, JAX or PyTorch (``KERAS_BACKEND``; :mod:`fer_train.devices`), fed by
:class:`fer_train.input_pipeline.Batches` (augmentation on CPU workers, class weights as sample
weights), so no TensorFlow is imported unless it is the backend.

Pretrained weights: stage 1 trains the head with the base frozen (Adam 1e-3), stage 2 unfreezes
the ``conv5_*`` blocks with BatchNormalization frozen at a low learning rate (Adam 1e-5).
From a whole trained classifier (``--weights default`` or a fer ``PATH.keras``, see
:mod:`fer_train.start_weights`): the same two stages, the head starting from its trained
weights at a tenth of the rate (Adam 1e-4), so that a few hundred of a school's images adapt
the model without wrecking it; BatchNormalization stays in inference mode throughout.
From scratch (``--weights none``): everything trains in one stage with SGD (momentum 0.9,
Nesterov, weight decay) on a linear warm-up then cosine schedule, and BatchNormalization's
moving statistics are recomputed over the training set at the end ("precise BN"), which keeps
short runs from evaluating with barely-updated statistics.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_edge.contract import atomic
from fer_edge.contract.errors import ConfigError
from fer_edge.contract.labels import LABELS
from fer_edge.options import option

from . import devices as devices_lib
from . import model as model_lib
from .augment import Augment
from .data import CLASS_WEIGHTINGS, class_weights
from .prepare import Prepared
from .start_weights import Start

log = logging.getLogger(__name__)

#: The head's learning rate: a new head, or a trained one being fine-tuned.
HEAD_LR, TRAINED_HEAD_LR = 1e-3, 1e-4


@dataclass
class FitParams:
    """How a run trains. The fields with :func:`~fer_edge.options.option` are fer-train's
    ``fit``/``compare`` flags (generated from them: default, help, choices and range stated
    here once); the others are set by the command line in another form or by code."""

    image_size: int | None = option(
        None, "Input size in px [224; a starting model's own size].", ge=32, le=1024
    )
    weights: str = option(
        "imagenet",
        "imagenet, none (from scratch), a ResNet50 no-top .h5 file, or a whole model to "
        "fine-tune: default (the shipped model) or a fer-train PATH.keras.",
    )
    epochs: int = option(
        10, "Epochs of stage 1 (the head; all layers from scratch).", ge=0, le=10000
    )
    fine_tune_epochs: int = option(
        10, "Epochs of stage 2 (the top blocks unfrozen).", ge=0, le=10000
    )
    batch_size: int = option(32, "Images a step.", ge=1, le=65536)
    seed: int = option(
        0, "Random seed (splits, augmentation, initial weights).", ge=0, le=2**32 - 1
    )
    patience: int = 5
    resume: bool = option(False, "Continue an interrupted run in --out.")
    verbose: int = 2
    class_weights: str = option(
        "balanced",
        "Loss weight per class: inverse frequency, its square root, or none (recorded in the "
        "card; the device corrects balanced and sqrt models' prior).",
        CLASS_WEIGHTINGS,
    )
    precision: str = option(
        "auto",
        "auto: mixed bfloat16 on JAX/PyTorch GPUs that have it, mixed float16 on other GPUs, "
        "float32 on the CPU.",
        devices_lib.PRECISIONS,
    )
    workers: int | None = option(None, "Input pipeline threads [one per CPU core].", ge=1, le=1024)
    low_res_p: float = option(
        0.5,
        "Probability of the low-resolution augmentation (shrink, blur, noise, JPEG); 0 turns "
        "it off.",
        ge=0,
        le=1,
    )
    low_res_min: int = 12  # its face sizes in px (``--low-res-px MIN,MAX``)
    low_res_max: int = 48

    def augment(self) -> Augment:
        return Augment(low_res_p=self.low_res_p, low_res_px=(self.low_res_min, self.low_res_max))


def setup_devices(precision: str = "auto") -> devices_lib.Devices:
    return devices_lib.setup(precision)


def even_batch(n: int, batch: int, replicas: int) -> int:
    """A batch size whose first batch splits evenly over the replicas; 0 if ``n < replicas``.

    Keras 3 under MirroredStrategy fails (AddN shape mismatch) when a dataset's first batch is
    smaller than the global batch and not a multiple of the replica count (e.g. a small
    validation split on two GPUs), and (Keras 3.15) when any batch leaves a replica empty: so
    data parallel runs also cut every split to a multiple of the replica count
    (:func:`even_count`).
    """
    return batch if n >= batch else n // replicas * replicas


def even_count(n: int, replicas: int) -> int:
    """The most of ``n`` images that split evenly over ``replicas`` in every batch."""
    return n // replicas * replicas


def train(
    train: Prepared, val: Prepared, params: FitParams, run_dir: Path, start: Start | None = None
):
    """Train a model on ``train`` (validated on ``val``); returns (model, history dict).

    ``start``: a whole trained classifier to fine-tune instead of a new model.
    """
    k = model_lib.keras()  # first: Keras' start-up chatter goes to the log
    from .input_pipeline import Batches, default_workers

    k.utils.set_random_seed(params.seed)
    devices = setup_devices(params.precision)
    log.info("training: %s", devices.describe())
    ckpt = run_dir / "checkpoints"
    ckpt.mkdir(parents=True, exist_ok=True)
    with devices.scope():
        if start is not None:
            model = start.load()
        else:
            model = model_lib.build_model(params.image_size, params.weights, seed=params.seed)
    replicas = devices.replicas
    batch = even_batch(len(train), params.batch_size * replicas, replicas)
    if batch == 0:
        raise ConfigError(f"{len(train)} training images cannot be split over {replicas} GPUs")
    # Every batch must split evenly over the replicas, the last one too: a replica given an
    # empty batch fails (JAX's sharding; TensorFlow's MirroredStrategy in Keras 3.15).
    parallel = replicas > 1
    weights = class_weights(train.labels, params.class_weights)
    log.info(
        "class weights (%s): %s",
        params.class_weights,
        {i: round(w, 2) for i, w in weights.items()},
    )
    workers = params.workers or default_workers()
    augment = params.augment()
    log.info("input pipeline: %d worker threads; augmentation %s", workers, augment)
    train_data = Batches(
        train.images,
        train.labels,
        batch,
        class_weights=np.array([weights[i] for i in range(len(LABELS))]),
        augment=augment,
        shuffle=True,
        seed=params.seed,
        drop_remainder=parallel,
        workers=workers,
    )
    n_val = even_count(len(val), replicas)
    if n_val < len(val):
        log.info(
            "validation: %d of %d images (a multiple of %d replicas)", n_val, len(val), replicas
        )
    val_batch = even_batch(n_val, batch, replicas)
    if len(val) and not val_batch:
        log.warning(
            "%d validation images cannot be split over %d GPUs: no validation", len(val), replicas
        )
    val_data = (
        Batches(val.images[:n_val], val.labels[:n_val], val_batch, workers=workers)
        if val_batch
        else None
    )
    history: dict = {"stages": [], "devices": devices.describe(), "policy": devices.policy}
    steps = max(1, len(train_data))
    if params.weights == "none":
        stages = [("scratch", params.epochs + params.fine_tune_epochs)]
    else:
        stages = [("head", params.epochs), ("fine-tune", params.fine_tune_epochs)]
    try:
        for name, epochs in stages:
            if epochs <= 0:
                continue
            done = ckpt / f"{name}.weights.h5"
            with devices.scope():
                optimizer = _configure(model, name, epochs, steps, params, start is not None)
                model.compile(
                    optimizer=optimizer,
                    loss="sparse_categorical_crossentropy",
                    metrics=["accuracy"],
                )
            stage_history = ckpt / f"{name}.history.json"
            if params.resume and done.is_file():
                with devices.scope():
                    optimizer.build(model.trainable_variables)  # the file holds its state too
                model.load_weights(done)
                log.info("stage %s: already done, weights restored from %s", name, done)
                record = json.loads(stage_history.read_text()) if stage_history.is_file() else {}
                history["stages"].append({**record, "stage": name, "resumed": True})
                continue
            monitor = "val_loss" if val_data is not None else "loss"
            callbacks = [
                k.callbacks.BackupAndRestore(str(ckpt / f"backup-{name}")),
                # From scratch, validation uses BatchNorm statistics that lag far behind until
                # precise_batchnorm: keep the last weights (the cosine schedule ends low anyway).
                k.callbacks.EarlyStopping(
                    monitor=monitor,
                    patience=params.patience,
                    restore_best_weights=name != "scratch",
                ),
                train_data.epoch_callback(),
            ]
            seconds: list[float] = []
            callbacks.append(_epoch_timer(seconds))
            log.info("stage %s: %d epochs, %d steps each, batch %d", name, epochs, steps, batch)
            result = model.fit(
                train_data,
                validation_data=val_data,
                epochs=epochs,
                callbacks=callbacks,
                shuffle=False,  # Batches shuffles, seeded per epoch
                verbose=params.verbose,
            )
            if name == "scratch":
                precise_batchnorm(model, train.images, batch)
            record = {
                "stage": name,
                "history": {m: [float(v) for v in vs] for m, vs in result.history.items()},
                "epoch_seconds": seconds,
            }
            write_history(stage_history, record)
            partial = ckpt / f"{name}.partial.weights.h5"  # the stage counts as done on rename
            model.save_weights(partial)
            os.replace(partial, done)
            history["stages"].append(record)
    finally:
        devices_lib.release(devices)
    return model, history


def _epoch_timer(seconds: list[float]):
    """A callback appending each epoch's wall time (training and validation) to ``seconds``."""
    k = model_lib.keras()
    started: list[float] = []
    return k.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: started.append(time.perf_counter()),
        on_epoch_end=lambda epoch, logs: seconds.append(
            round(time.perf_counter() - started[-1], 2)
        ),
    )


def _configure(model, stage: str, epochs: int, steps: int, params: FitParams, trained_head: bool):
    k = model_lib.keras()
    if stage == "head":
        model_lib.freeze_base(model)
        return k.optimizers.Adam(TRAINED_HEAD_LR if trained_head else HEAD_LR)
    if stage == "fine-tune":
        n = model_lib.unfreeze_top(model)
        log.info("fine-tuning %d layers of conv5 (BatchNormalization frozen)", n)
        return k.optimizers.Adam(1e-5)
    model_lib.unfreeze_all(model)
    total = epochs * steps
    warmup = max(1, min(total // 2, max(steps, total // 10)))
    peak = 0.1 * params.batch_size / 128  # the CIFAR ResNet recipe, linearly scaled
    schedule = k.optimizers.schedules.CosineDecay(
        0.0, max(1, total - warmup), alpha=0.01, warmup_target=peak, warmup_steps=warmup
    )
    log.info("from scratch: SGD, warm-up %d steps to lr %.4f, cosine over %d", warmup, peak, total)
    return k.optimizers.SGD(schedule, momentum=0.9, nesterov=True, weight_decay=5e-4)


def precise_batchnorm(model, images: np.ndarray, batch_size: int, max_batches: int = 200) -> int:
    """Set BatchNormalization moving statistics to the average over training batches."""
    k = model_lib.keras()
    layers = [
        layer
        for layer in model_lib.backbone(model).layers
        if isinstance(layer, k.layers.BatchNormalization) and layer.trainable
    ]
    if not layers or len(images) == 0:
        return 0
    original = [layer.momentum for layer in layers]
    n = 0
    body = k.Model(model.input, model.get_layer("pool").output)
    try:
        for start in range(0, len(images), batch_size):
            if n >= max_batches:
                break
            n += 1
            for layer in layers:
                layer.momentum = (n - 1) / n  # running mean of the batch statistics
            pixels = images[start : start + batch_size].astype(np.float32)
            body(k.ops.convert_to_tensor(pixels), training=True)
    finally:
        for layer, momentum in zip(layers, original, strict=True):
            layer.momentum = momentum
    log.info("recomputed BatchNormalization statistics over %d batches", n)
    return n


def write_history(path: Path, history: dict) -> None:
    atomic.write_text(path, json.dumps(history, indent=2) + "\n")
