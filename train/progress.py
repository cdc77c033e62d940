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
        self.named_epochs = True  # False: one pass, reported without "epoch n/N"
        self.epoch = 0
        self._started = self._next = 0.0

    def _name(self) -> str:
        if not self.named_epochs:
            return self.what
        return f"{self.what} epoch {self.epoch + 1}/{self.epochs}"

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
            f"{self._name()}: {percent:.0f}% ({done}/{self.steps} batches), "
            f"{duration(elapsed)} elapsed, ~{duration(epoch_left)} left"
        )
        if self.named_epochs:
            message += f" in the epoch, ~{duration(epoch_left + later)} left in {self.what}"
        self.emit(message)
        return message

    def end_epoch(self, summary: str = "") -> str:
        """The epoch's wall time, and the estimate for the epochs left; the message."""
        seconds = self.clock() - self._started
        self.epoch_seconds.append(round(seconds, 2))
        left = (self.epochs - self.epoch - 1) * self._per_epoch(1.0, seconds)
        message = f"{self._name()} took {duration(seconds)}"
        if summary:
            message += f" ({summary})"
        if self.epoch + 1 < self.epochs:
            message += f"; ~{duration(left)} left in {self.what}"
        self.emit(message)
        return message


def terminal_bar(stream=None) -> Callable[[str], None]:
    """An ``emit`` that redraws one line (``\\r``) on a terminal instead of logging lines."""
    import sys

    out = stream or sys.stderr

    def emit(message: str) -> None:
        out.write("\r" + message[:160].ljust(160))
        out.flush()

    return emit


def predict_in_steps(predict, images, what: str, chunk: int = 256, every: float = 10.0):
    """``predict(images)`` in chunks of ``chunk``, reporting progress: a redrawn line at a
    terminal, a log line every ``every`` percent otherwise. Returns the concatenated output."""
    import sys

    import numpy as np

    steps = max(1, -(-len(images) // chunk))
    if steps == 1:
        return predict(images)
    tty = sys.stderr.isatty()
    progress = Progress(what, 1, steps, every=1 if tty else every)
    progress.named_epochs = False
    if tty:
        progress.emit = terminal_bar()
    progress.begin_epoch(0)
    out = []
    for i in range(steps):
        out.append(predict(images[i * chunk : (i + 1) * chunk]))
        progress.step(i + 1)
    if tty:
        sys.stderr.write("\r" + " " * 160 + "\r")
    progress.emit = log.info
    progress.end_epoch(f"{len(images)} images")
    return np.concatenate(out)


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
