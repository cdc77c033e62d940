"""Progress a person can follow through a long CPU epoch: a line every few percent, with the
time per epoch so far and an estimate of the time left (of the epoch and of the whole stage).

:class:`Progress` is plain bookkeeping (testable without Keras); :func:`keras_callback` feeds it
from ``model.fit``. At a terminal Keras' own bar shows the steps, and only the epoch lines are
logged; in a log file a line comes every ``every`` percent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


def duration(seconds: float) -> str:
    """``75`` → ``1m15s``; ``3725`` → ``1h02m``."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class Progress:
    """Step and epoch timing of one stage of ``epochs`` epochs of ``steps`` batches each.

    ``emit`` receives each message; ``every`` is the percentage of an epoch between step lines
    (0: epoch lines only); ``clock`` is injectable for tests.
    """

    def __init__(
        self,
        what: str,
        epochs: int,
        steps: int,
        *,
        every: float = 5.0,
        emit: Callable[[str], None] = log.info,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what, self.epochs, self.steps = what, max(1, epochs), max(1, steps)
        self.every, self.emit, self.clock = every, emit, clock
        self.epoch_seconds: list[float] = []
        self.epoch = 0
        self._started = self._next = 0.0

    def begin_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self._started = self.clock()
        self._next = self.every

    def _per_epoch(self, done_fraction: float, elapsed: float) -> float:
        if self.epoch_seconds:
            return sum(self.epoch_seconds) / len(self.epoch_seconds)
        return elapsed / max(done_fraction, 1e-9)

    def step(self, done: int) -> str | None:
        """After ``done`` batches of the current epoch; the message if one is due."""
        if self.every <= 0:
            return None
        percent = 100.0 * done / self.steps
        if percent + 1e-9 < self._next or done >= self.steps:
            return None
        while self._next <= percent + 1e-9:
            self._next += self.every
        elapsed = self.clock() - self._started
        fraction = done / self.steps
        epoch_left = elapsed / fraction - elapsed
        later = (self.epochs - self.epoch - 1) * (elapsed / fraction)
        message = (
            f"{self.what} epoch {self.epoch + 1}/{self.epochs}: {percent:.0f}% "
            f"({done}/{self.steps} batches), {duration(elapsed)} elapsed, "
            f"~{duration(epoch_left)} left in the epoch, ~{duration(epoch_left + later)} "
            f"left in {self.what}"
        )
        self.emit(message)
        return message

    def end_epoch(self, summary: str = "") -> str:
        """The epoch's wall time, and the estimate for the epochs left; the message."""
        seconds = self.clock() - self._started
        self.epoch_seconds.append(round(seconds, 2))
        left = (self.epochs - self.epoch - 1) * self._per_epoch(1.0, seconds)
        message = f"{self.what} epoch {self.epoch + 1}/{self.epochs} took {duration(seconds)}"
        if summary:
            message += f" ({summary})"
        if self.epoch + 1 < self.epochs:
            message += f"; ~{duration(left)} left in {self.what}"
        self.emit(message)
        return message


def keras_callback(progress: Progress):
    """A Keras callback driving ``progress`` from ``model.fit`` (training batches only)."""
    from .model import keras

    def summary(logs) -> str:
        keys = ("loss", "accuracy", "val_loss", "val_accuracy")
        return ", ".join(f"{k} {logs[k]:.4f}" for k in keys if logs and k in logs)

    return keras().callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: progress.begin_epoch(epoch),
        on_train_batch_end=lambda batch, logs: progress.step(batch + 1),
        on_epoch_end=lambda epoch, logs: progress.end_epoch(summary(logs)),
    )
