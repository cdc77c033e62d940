"""Progress through a long epoch: lines every few percent with elapsed time and time left."""

from __future__ import annotations

import logging

import numpy as np

from fer_train.progress import Progress, duration, predict_in_steps


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_lines_every_few_percent_with_time_left_in_epoch_and_stage():
    clock, lines = Clock(), []
    progress = Progress("stage fine-tune", 2, 100, every=25, emit=lines.append, clock=clock)
    progress.begin_epoch(0)
    for step in range(1, 101):
        clock.now += 3.0  # 3 s a batch: 300 s an epoch
        progress.step(step)
    assert [line.split(":")[1].split("(")[0].strip() for line in lines] == ["25%", "50%", "75%"]
    assert "(25/100 batches), 1m15s elapsed, ~3m45s left in the epoch" in lines[0]
    assert lines[0].endswith("~8m45s left in stage fine-tune")  # 225 s + another 300 s epoch
    done = progress.end_epoch("loss 0.5000")
    assert done == "stage fine-tune epoch 1/2 took 5m00s (loss 0.5000); ~5m00s left in " \
        "stage fine-tune"  # fmt: skip
    progress.begin_epoch(1)
    clock.now += 600
    assert progress.end_epoch().startswith("stage fine-tune epoch 2/2 took 10m00s")
    assert progress.epoch_seconds == [300.0, 600.0]


def test_no_step_lines_at_a_terminal_and_uneven_steps():
    clock, lines = Clock(), []
    quiet = Progress("x", 1, 7, every=0, emit=lines.append, clock=clock)
    quiet.begin_epoch(0)
    assert all(quiet.step(i) is None for i in range(1, 8)) and lines == []
    coarse = Progress("x", 1, 3, every=5, emit=lines.append, clock=clock)
    coarse.begin_epoch(0)
    assert [coarse.step(i) is not None for i in (1, 2, 3)] == [True, True, False]


def test_duration_formats():
    assert [duration(s) for s in (0, 59.6, 75, 3725)] == ["0s", "1m00s", "1m15s", "1h02m"]


def test_predict_in_steps_keeps_order_and_logs(caplog):
    images = np.arange(1000, dtype=np.float32)[:, None]
    with caplog.at_level(logging.INFO, logger="fer_train.progress"):
        out = predict_in_steps(lambda x: x * 2, images, "ferplus at 24 px", chunk=100)
    np.testing.assert_array_equal(out, images * 2)
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0].startswith("ferplus at 24 px: 10% (1/10 batches)")
    assert "epoch" not in messages[0] and len(messages) == 10  # 10 %, ..., 90 %, then done
    assert messages[-1].startswith("ferplus at 24 px took") and "1000 images" in messages[-1]
