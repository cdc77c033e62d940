"""What a frame source tells its reader: :class:`SourceEvent` and the source base class.

A source is an iterable of :class:`SourceEvent`: every frame (epoch seconds and a BGR uint8
frame) and everything else its reader needs to know, in the order it happened. A live source
also yields heartbeats while no frame arrives, so the reader can close windows and notice a
stop request; it never invents (black or repeated) frames.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..contract.errors import FerError


class SourceLost(FerError):
    """A source without reconnection stalled or lost its camera."""


#: The kinds of :class:`SourceEvent`.
FRAME, HEARTBEAT, LOST, FOUND, DROPPED, RETRYING = (
    "frame",
    "heartbeat",
    "lost",
    "found",
    "dropped",
    "retrying",
)


@dataclass(frozen=True)
class SourceEvent:
    """One thing a source tells its reader; ``ts`` is epoch seconds (a file's: video time).

    - ``frame``: ``frame`` is the next BGR frame, taken at ``ts``.
    - ``heartbeat``: alive, no frame (the camera may be blocked in a read).
    - ``lost``: the camera is gone since ``ts`` (its last frame); once a gap. ``problem`` is
      what is wrong now and what the source does about it, as logged; ``why`` the reason alone.
    - ``retrying``: alive and reopening the camera (progress, not a hang); ``problem``, ``why``.
    - ``found``: frames again from ``ts`` (the gap ends; the frame itself follows).
    - ``dropped``: the source skipped ``count`` frames (its reader was slower than the camera).
    """

    kind: str
    ts: float
    frame: np.ndarray | None = None
    problem: str | None = None
    why: str | None = None
    count: int = 0


class Device(Protocol):
    """What a live source reads from: ``cv2.VideoCapture`` has this shape."""

    def read(self) -> tuple[bool, np.ndarray | None]: ...

    def release(self) -> None: ...


class FrameSource:
    """Base: ``live`` sources use the wall clock; file sources use the video's own time."""

    live = True
    name = ""
    #: (width, height) of the frames, once known (a camera's: from its first frame).
    frame_size: tuple[int, int] | None = None

    def __iter__(self) -> Iterator[SourceEvent]:
        raise NotImplementedError

    def close(self) -> None:
        """Ask the iteration to end soon (safe from a signal handler or another thread)."""


class FrameWithCopy(np.ndarray):
    """A full-resolution frame that carries a smaller copy of itself for the face detector
    (``detect_copy``), where the camera makes one for free (picamera2's lores stream)."""

    detect_copy: np.ndarray | None = None

    @classmethod
    def of(cls, frame: np.ndarray, copy: np.ndarray) -> FrameWithCopy:
        out = frame.view(cls)
        out.detect_copy = copy
        return out
