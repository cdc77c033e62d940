"""A live camera read by a worker thread: frame timeout, dropped frames and reconnection.

A lost camera is reopened with exponential backoff: every attempt that fails is logged in one
line (which camera, why, when the next attempt is) and yielded as an event with that line. With
``give_up``, a camera that delivers no first frame within that many seconds raises
:class:`CameraUnavailable`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..contract.errors import CameraUnavailable
from .events import (
    DROPPED,
    FOUND,
    FRAME,
    HEARTBEAT,
    LOST,
    RETRYING,
    Device,
    FrameSource,
    SourceEvent,
    SourceLost,
)

log = logging.getLogger(__name__)


class _Lost:
    """The worker's message that the camera is gone: why, and the line it logged."""

    def __init__(self, why: str, problem: str) -> None:
        self.why, self.problem = why, problem


class LiveSource(FrameSource):
    """A live camera read by a worker thread, with a frame timeout and reconnection.

    ``opener()`` returns an open :class:`Device` or None. Only the newest frame is kept: when
    the consumer is slower than the camera, older frames are dropped and reported in a
    ``dropped`` event. With ``reconnect=False`` a stall or loss raises :class:`SourceLost`
    instead. An opener may raise an exception whose message says why the camera does not open.
    """

    def __init__(
        self,
        opener: Callable[[], Device | None],
        name: str,
        frame_timeout: float = 5.0,
        reconnect_max: float = 30.0,
        reconnect: bool = True,
        clock: Callable[[], float] = time.time,
        tick: float = 0.5,
        backoff_start: float = 0.5,
        give_up: float = 0.0,
    ) -> None:
        self._opener, self.name = opener, name
        self.frame_timeout, self.reconnect_max, self.reconnect = (
            frame_timeout,
            reconnect_max,
            reconnect,
        )
        self._clock, self._tick, self._backoff_start = clock, tick, backoff_start
        self.give_up = give_up
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._reset = threading.Event()
        self._thread: threading.Thread | None = None
        # worker -> reader: frames skipped so far; reopening (alive), not blocked in a read
        self._dropped = 0
        self._retrying = False
        self._stall_why = ""  # reader -> worker: why the reader asked for a reopen
        # the reader's own state
        self._lost = False
        self._problem: str | None = None  # the last line logged about the camera
        self._why: str | None = None  # the last reason it was lost (kept after it came back)
        self.frame_size: tuple[int, int] | None = None  # (w, h) the camera delivers

    # -- worker thread -------------------------------------------------------------------------
    def _post(self, item: Any) -> None:
        """Queue ``item``; a new frame replaces an unread one, a loss marker never does."""
        while isinstance(item, _Lost) and not self._stop.is_set():
            try:
                self._queue.put(item, timeout=self._tick)
                return
            except queue.Full:
                continue
        while not self._stop.is_set():
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                try:
                    old = self._queue.get_nowait()
                except queue.Empty:
                    continue
                if not isinstance(old, _Lost):
                    self._dropped += 1

    def _open(self) -> tuple[Device | None, str]:
        try:
            device = self._opener()
        except Exception as exc:  # noqa: BLE001 - any open failure is a lost camera; retried
            return None, str(exc) or f"cannot open ({type(exc).__name__})"
        return device, "" if device is not None else "cannot open the camera"

    def _retry(self, why: str, delay: float) -> None:
        """One backoff step: say which camera, why and when the next attempt is; then wait."""
        problem = f"{self.name}: {why}; next attempt in {delay:g} s"
        if self.reconnect:
            log.warning("%s", problem)
        self._post(_Lost(why, problem))
        self._retrying = True  # after the message: the reader learns why before it sees this
        self._stop.wait(delay)

    def _delivering(self, frame: np.ndarray) -> None:
        """Note (and log once per opening) the size the camera actually delivers."""
        self.frame_size = (int(frame.shape[1]), int(frame.shape[0]))
        log.info("%s: delivering %dx%d frames", self.name, *self.frame_size)

    def _worker(self) -> None:
        device: Device | None = None
        fresh = True
        delay = self._backoff_start
        try:
            while not self._stop.is_set():
                if device is None:
                    device, why = self._open()
                    fresh = True
                    if device is None:
                        self._retry(why, delay)
                        delay = min(delay * 2, self.reconnect_max)
                        continue
                self._retrying = False
                ok, frame = device.read()
                if self._reset.is_set() or not ok or frame is None:
                    why = self._stall_why if self._reset.is_set() else "read failed"
                    self._reset.clear()
                    device.release()
                    device = None
                    self._retry(why or "read failed", delay)
                    delay = min(delay * 2, self.reconnect_max)
                    continue
                delay = self._backoff_start
                if self.frame_size is None or fresh:
                    self._delivering(frame)
                    fresh = False
                self._post((self._clock(), frame))
        finally:
            if device is not None:
                device.release()

    # -- reader ------------------------------------------------------------------------------
    def _mark_lost(self, ts: float, why: str, problem: str) -> SourceEvent | None:
        """The ``lost`` event for a gap since ``ts`` (None while already lost)."""
        self._why, self._problem = why, problem
        if self._lost:
            return None
        if not self.reconnect:
            raise SourceLost(f"{self.name}: {why}")
        self._lost = True
        return SourceEvent(LOST, ts, problem=problem, why=why)

    def _idle(self, ts: float, retrying: bool) -> SourceEvent:
        if retrying:
            return SourceEvent(RETRYING, ts, problem=self._problem, why=self._why)
        return SourceEvent(HEARTBEAT, ts)

    def _check_give_up(self, started: float, seen: bool) -> None:
        if seen or not self.give_up or self._clock() - started < self.give_up:
            return
        raise CameraUnavailable(
            f"{self.name}: no frame within {self.give_up:g} s "
            f"({self._why or 'no frame arrived'}); giving up (camera-wait {self.give_up:g}; "
            "0 keeps retrying)"
        )

    def __iter__(self) -> Iterator[SourceEvent]:
        self._thread = threading.Thread(target=self._worker, name="capture", daemon=True)
        self._thread.start()
        last = started = self._clock()
        seen = False
        dropped = 0
        try:
            while not self._stop.is_set():
                self._check_give_up(started, seen)
                try:
                    item = self._queue.get(timeout=self._tick)
                except queue.Empty:
                    now = self._clock()
                    if now - last > self.frame_timeout and not self._lost:
                        why = self._stall_why = f"no frame for {self.frame_timeout:g} s"
                        problem = f"{self.name}: {why}; reopening"
                        if self.reconnect:
                            log.warning("%s", problem)
                        event = self._mark_lost(last, why, problem)
                        self._reset.set()
                        if event:
                            yield event
                    yield self._idle(now, self._retrying)
                    continue
                if isinstance(item, _Lost):
                    event = self._mark_lost(last, item.why, item.problem)
                    if event:
                        yield event
                    yield self._idle(self._clock(), True)
                    continue
                ts, frame = item
                seen, self._problem = True, None
                if self._lost:
                    self._lost = False
                    log.warning("%s: frames again", self.name)
                    yield SourceEvent(FOUND, ts)
                if self._dropped != dropped:
                    yield SourceEvent(DROPPED, ts, count=self._dropped - dropped)
                    dropped = self._dropped
                last = ts
                yield SourceEvent(FRAME, ts, frame)
        finally:
            self._stop.set()
            self._thread.join(timeout=2.0)

    def close(self) -> None:
        self._stop.set()
