"""The training input pipeline: shuffled, augmented, class-weighted batches from CPU workers.

A :class:`keras.utils.PyDataset`, so it feeds ``model.fit`` on every Keras backend alike.
Batches are built by ``workers`` threads (OpenCV releases the GIL), ahead of the training step.
Each batch is a pure function of (seed, epoch, batch index): a run's augmentation does not
depend on thread timing, and a resumed run sees the epochs it would have seen.
"""

from __future__ import annotations

import os

import keras
import numpy as np

from .augment import Augment


def default_workers() -> int:
    """One worker per CPU core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class Batches(keras.utils.PyDataset):
    """(uint8 pixels, labels[, sample weights]) batches of uint8 ``images``.

    Pixels stay uint8 (a quarter of float32's bytes to copy to a GPU); the model's float32
    input casts them on the device, on every backend.

    ``class_weights``: a weight per class, given to each image as its sample weight.
    ``augment``: applied to every training batch; None for validation and evaluation.
    ``drop_remainder``: leave out the last partial batch (training under data parallelism,
    where a batch must split evenly over the devices; every epoch reshuffles, so no image is
    always left out).
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        batch_size: int,
        *,
        class_weights: np.ndarray | None = None,
        augment: Augment | None = None,
        shuffle: bool = False,
        seed: int = 0,
        drop_remainder: bool = False,
        workers: int = 1,
        epoch: int = 0,
    ) -> None:
        super().__init__(workers=workers, use_multiprocessing=False, max_queue_size=2 * workers)
        self.images, self.labels = images, np.asarray(labels, np.int64)
        self.batch_size, self.shuffle, self.seed = int(batch_size), shuffle, seed
        self.weights = None if class_weights is None else np.asarray(class_weights, np.float32)
        self.augment, self.drop_remainder = augment, drop_remainder
        self.epoch = epoch
        self._order = self._permutation()

    def _permutation(self) -> np.ndarray:
        if not self.shuffle:
            return np.arange(len(self.labels))
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.labels))

    @property
    def num_batches(self) -> int:
        n, b = len(self.labels), self.batch_size
        return n // b if self.drop_remainder else -(-n // b)

    def __len__(self) -> int:
        return self.num_batches

    def __getitem__(self, index: int):
        if not 0 <= index < self.num_batches:
            raise IndexError(index)
        picked = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        pixels = self.images[picked]
        if self.augment is not None:
            rng = np.random.default_rng([self.seed, self.epoch, index, 1])
            pixels = self.augment(pixels, rng)
        labels = self.labels[picked]
        if self.weights is None:
            return pixels, labels
        return pixels, labels, self.weights[labels]

    def set_epoch(self, epoch: int) -> None:
        """Shuffle and augment as in ``epoch`` (a resumed run starts where it stopped)."""
        if epoch != self.epoch:
            self.epoch = epoch
            self._order = self._permutation()

    def on_epoch_end(self) -> None:
        self.set_epoch(self.epoch + 1)

    def epoch_callback(self):
        """A Keras callback keeping :attr:`epoch` on fit's epoch number."""
        return keras.callbacks.LambdaCallback(
            on_epoch_begin=lambda epoch, logs: self.set_epoch(epoch)
        )
