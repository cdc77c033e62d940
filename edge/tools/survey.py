"""``fer-edge survey``: is this camera, as installed, good enough for expression reading?

For ``seconds`` of the source it detects faces (the run's detector and quality gate, no
classification) and reports the capture size, faces per frame, the face-width histogram in
capture pixels, the readable share and the unreadable faces by reason, the accuracy the model
card's face-size table expects at those widths, and one line of advice. Nothing is stored: no
frame, no face, no log.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..assemble import make_detector, open_camera
from ..capture.events import FRAME
from ..config import RunConfig
from ..contract.card import ModelCard
from ..contract.errors import FerError
from ..faces.quality import UNREADABLE

#: Upper edges of the face-width histogram, capture pixels (the last bin is open).
BINS = (12, 16, 20, 24, 32, 48, 64, 96)


def face_size_table(card: ModelCard) -> list[tuple[float, float]]:
    """The card's accuracy by face width, ``metrics.face_size.accuracy_by_px``, sorted; [] if
    the card has none. Accuracy as a fraction, width in pixels of the face before enlargement."""
    table = (card.metrics.get("face_size") or {}).get("accuracy_by_px") or {}
    return sorted((float(px), float(acc)) for px, acc in table.items())


def expected_accuracy(table: list[tuple[float, float]], width: float) -> float | None:
    """Accuracy at a face ``width`` px: linear between the table's rows, its ends beyond them."""
    if not table:
        return None
    xs, ys = zip(*table, strict=True)
    return float(np.interp(width, xs, ys))


@dataclass
class Survey:
    """What a survey saw; :meth:`lines` says it for a person."""

    capture: str = ""
    asked: str = ""
    frames: int = 0
    seconds: float = 0.0
    widths: list[float] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=lambda: dict.fromkeys(UNREADABLE, 0))
    readable_widths: list[float] = field(default_factory=list)
    table: list[tuple[float, float]] = field(default_factory=list)
    table_source: str = ""

    @property
    def faces(self) -> int:
        return len(self.widths)

    def histogram(self) -> list[tuple[str, int]]:
        edges = (0, *BINS)
        rows = [
            (f"{lo}-{hi} px", sum(lo <= w < hi for w in self.widths))
            for lo, hi in zip(edges[:-1], edges[1:], strict=True)
        ]
        return [*rows, (f">={BINS[-1]} px", sum(w >= BINS[-1] for w in self.widths))]

    def expected(self) -> float | None:
        """Mean expected accuracy over the readable faces (None: no table or no such face)."""
        values = [expected_accuracy(self.table, w) for w in self.readable_widths]
        values = [v for v in values if v is not None]
        return float(np.mean(values)) if values else None

    def advice(self) -> str:
        if not self.frames:
            return "no frame arrived: check the camera (fer-edge doctor)"
        if not self.faces:
            return "no faces found: check the camera's view, focus and lighting"
        median = float(np.median(self.widths))
        turned = (self.reasons["turned"] + self.reasons["down"]) / self.faces
        wide = self.capture and int(self.capture.split("x")[0]) >= 1920
        if median < 24:
            more = "move the camera closer or use a longer lens" if wide else (
                f"capture at 1920x1080 (now {self.capture}) or move the camera closer"
            )  # fmt: skip
            return f"median face {median:.0f} px: too small for expression reading — {more}"
        if turned > 0.5:
            return (
                f"{100 * turned:.0f} % of faces turned away or looking down: place the camera "
                "where it faces the people"
            )
        if median < 32:
            more = "move the camera closer" if wide else "capture at 1920x1080"
            return f"median face {median:.0f} px: readable but small — {more} for better accuracy"
        return f"median face {median:.0f} px: large enough for expression reading"

    def lines(self) -> list[str]:
        out = [
            f"capture: {self.capture or 'unknown'}"
            + (f" (asked for {self.asked})" if self.asked else ""),
            f"frames: {self.frames} in {self.seconds:.0f} s; faces per frame: "
            f"{self.faces / self.frames if self.frames else 0:.1f}",
            "face width (capture px): "
            + ", ".join(f"{label} {n}" for label, n in self.histogram() if n)
            if self.faces
            else "face width: no faces",
        ]
        if self.faces:
            readable = len(self.readable_widths)
            why = ", ".join(f"{k} {100 * n / self.faces:.0f} %" for k, n in self.reasons.items())
            out.append(f"readable: {100 * readable / self.faces:.0f} % (unreadable: {why})")
            expected = self.expected()
            if expected is not None:
                out.append(
                    f"expected accuracy at these widths: {100 * expected:.1f} % "
                    f"({self.table_source}, from the model card)"
                )
            elif not self.table:
                out.append("expected accuracy: the model card has no face-size table")
        out.append(f"advice: {self.advice()}")
        return out


def run_survey(config: RunConfig, seconds: float, card: ModelCard | None = None) -> Survey:
    """Watch ``config.camera`` for ``seconds`` (source time: a file's own clock)."""
    detector = make_detector(config)
    gate = config.quality_gate
    source = open_camera(config)
    survey = Survey(asked=config.capture_size if source.live else "")
    if card is not None:
        survey.table = face_size_table(card)
        survey.table_source = (card.metrics.get("face_size") or {}).get("set", "")
    first = None
    started = time.monotonic()
    try:
        for event in source:
            now = event.ts if not source.live else time.monotonic() - started
            if first is None and event.kind == FRAME:
                first = event.ts
            if source.live and now >= seconds:
                break
            if event.kind != FRAME:
                continue
            if not source.live and event.ts - first >= seconds:
                break
            frame = event.frame
            survey.capture = f"{frame.shape[1]}x{frame.shape[0]}"
            survey.frames += 1
            for face in detector.detect(frame):
                survey.widths.append(face.box[2])
                why = gate.before_crop(face) or gate.on_pixels(frame, face)
                if why:
                    survey.reasons[why] += 1
                else:
                    survey.readable_widths.append(face.box[2])
            survey.seconds = (event.ts - first) if not source.live else now
    finally:
        source.close()
    if survey.frames == 0 and not source.live:
        raise FerError(f"{config.camera}: no frames")
    return survey
