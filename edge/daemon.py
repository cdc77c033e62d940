"""The classroom daemon: frames in, aggregate windows out. Never stores a frame or a face.

The parts come built (:func:`.assemble.build_pipeline`); the daemon is the loop: event
dispatch, pacing (``max_fps``), windows, status and shutdown.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field, replace

from .assemble import Parts
from .capture.events import DROPPED, FOUND, FRAME, LOST, RETRYING, SourceEvent
from .fleet.metrics import Metrics
from .record.window import WindowRecord

log = logging.getLogger(__name__)

RESPONSIBLE_USE = (
    "responsible use: the EU AI Act, Art. 5(1)(f), prohibits inferring emotions in education "
    "institutions except for medical or safety reasons; read README 'Responsible use' before "
    "running this in a classroom"
)


@dataclass
class RunSummary:
    frames_seen: int = 0
    frames_processed: int = 0
    faces: int = 0
    windows: int = 0  # records stored
    records_dropped: int = 0  # records produced but not stored (disk full, I/O error)
    stopped_by: str = "end of source"
    camera_problem: str | None = None  # why a live source never delivered a frame
    unsent: int | None = None  # records the MQTT broker has not acknowledged (None: no MQTT)
    stage_seconds: dict = field(default_factory=dict)


class Daemon:
    """Runs built :class:`~.assemble.Parts` over their source until it ends, ``max_frames`` or
    :meth:`stop`."""

    def __init__(self, parts: Parts) -> None:
        self.parts = parts
        self.config = config = parts.config
        self.source, self.pipeline, self.aggregator = parts.source, parts.frames, parts.aggregator
        self.log, self.notifier, self._clock = parts.log, parts.notifier, parts.clock
        self.classifier = parts.classifier
        self._model_path = getattr(self.classifier, "model_path", None)
        self._model_stat = _stat(self._model_path)
        self.metrics = Metrics(config.metrics_port) if config.metrics_port else None
        self.publisher = None
        self._stop = threading.Event()
        self._interval = 1.0 / config.max_fps if config.max_fps else 0.0
        self._last_processed = float("-inf")
        self._last_ts: float | None = None
        self._last_status = 0.0
        self._problem = self._last_problem = self._why = None  # the camera's state; its reason
        self._ready = False
        self.summary = RunSummary()

    def stop(self, why: str = "signal") -> None:
        """Ask the run to end: safe from a signal handler."""
        self.summary.stopped_by = why
        self._stop.set()
        self.source.close()

    # -- the loop -------------------------------------------------------------------------------
    def run(self) -> RunSummary:
        self.log.lock()  # one daemon per log dir: a second exits here, naming the first's pid
        log.warning(RESPONSIBLE_USE)
        self._start_fleet()
        self._last_status = self._clock()
        log.info("reading %s; logs in %s", self.source.name, self.log.log_dir)
        try:
            for event in self.source:
                self._advance_windows(event)
                if self._stop.is_set():
                    break
                self._track_camera(event)
                if event.kind == FRAME:
                    self._frame(event)
                    if self._frames_done():
                        break
                elif event.kind == RETRYING:
                    self.notifier.watchdog()  # alive and reopening the camera, not hung
        finally:
            self._shutdown()
        s = self.summary
        log.info(
            "stopped (%s): %d frames seen, %d processed, %d windows, %d records dropped",
            s.stopped_by,
            s.frames_seen,
            s.frames_processed,
            s.windows,
            s.records_dropped,
        )
        return s

    def _advance_windows(self, event: SourceEvent) -> None:
        """Camera gaps and dropped frames into the windows; emit the windows that ended."""
        aggregator = self.aggregator
        if event.kind == LOST:
            aggregator.camera_lost(event.ts)  # since the last frame: no time passes
        else:
            if event.kind == FOUND:
                aggregator.camera_found(event.ts)
            for record in aggregator.advance(event.ts):
                self._emit(record)
        if event.kind == DROPPED:
            aggregator.drop(event.count)
            self.summary.frames_seen += event.count

    def _track_camera(self, event: SourceEvent) -> None:
        """The camera's problem (or none), told to systemd and the fleet every 10 s or on change."""
        if event.problem:
            self._problem, self._why = event.problem, event.why
        elif event.kind == FRAME:
            self._problem = None
        if self._clock() - self._last_status < 10.0 and self._problem == self._last_problem:
            return
        self._last_status, self._last_problem = self._clock(), self._problem
        self._camera_state(self._problem is None)
        if self._ready:
            self.notifier.status(self._status(self._problem))
        else:  # systemd's start timeout must not kill a service waiting for a camera
            self.notifier.extending(self._status(self._problem), 30.0)

    def _frame(self, event: SourceEvent) -> None:
        """One frame: processed, or counted as skipped by the ``max_fps`` pacing."""
        s = self.summary
        self._last_ts = event.ts
        s.frames_seen += 1
        if event.ts - self._last_processed < self._interval - 1e-6:
            self.aggregator.frame(processed=False)
            return
        self._last_processed = event.ts
        observations = self.pipeline.process(event.ts, event.frame)
        self.aggregator.frame(processed=True)
        self.aggregator.faces(observations)
        s.frames_processed += 1
        s.faces += len(observations)
        if self.metrics:
            self.metrics.observe_frame(self.pipeline.seconds, len(observations))
        if not self._ready:
            self._ready = True
            self.notifier.ready(self._status())
            log.info("ready: first frame processed (%d faces)", len(observations))
        self.notifier.watchdog()

    def _frames_done(self) -> bool:
        if self.config.max_frames and self.summary.frames_seen >= self.config.max_frames:
            self.summary.stopped_by = "max-frames"
            return True
        return False

    def _shutdown(self) -> None:
        """Close the source, flush the last (partial) window, tell systemd and the broker."""
        s, source = self.summary, self.source
        source.close()
        self._flush()
        s.records_dropped = self.log.dropped
        s.stage_seconds = dict(self.pipeline.seconds)
        if not s.frames_seen and source.live:
            s.camera_problem = f"{source.name}: {self._why}" if self._why else source.name
        self.notifier.status(self._status() + f"; stopping ({s.stopped_by})")
        self.notifier.stopping()
        if self.publisher:
            self.publisher.stop()
            s.unsent = self.publisher.backlog
        self.log.close()

    def _flush(self) -> None:
        """The windows up to the end: a live run's now, a file's one frame after its last."""
        source = self.source
        if source.live:
            end = self._clock()
        elif self._last_ts is not None:
            end = self._last_ts + 1.0 / source.fps
            # A file that ends exactly on a window boundary completes that window.
            for record in self.aggregator.advance(end):
                self._emit(record)
        else:
            return
        record = self.aggregator.flush(end)
        if record is not None:
            self._emit(record)

    # -- records, fleet, status -----------------------------------------------------------------
    def _emit(self, record: WindowRecord) -> None:
        record = replace(record, records_dropped=self.log.dropped)
        written = self.log.write(record)
        if written:
            self.summary.windows += 1
        self._check_model_file()
        if self.metrics:
            self.metrics.records.labels("written" if written else "dropped").inc()
            self.metrics.fps.set(record.frames_processed / self.config.window)
        if written and self.publisher:
            self.publisher.notify()

    def _start_fleet(self) -> None:
        """MQTT publishing and the metrics endpoint, where configured."""
        from .fleet.mqtt import MqttSettings

        settings = MqttSettings.from_config(self.config)
        if settings is not None:
            from .fleet.mqtt import MqttPublisher

            self.publisher = MqttPublisher(settings, self.log.log_dir, self.classifier.card.sha256)
            self.publisher.start()
        if self.metrics:
            self.metrics.start()

    def _camera_state(self, ok: bool) -> None:
        if self.publisher:
            self.publisher.status(camera="ok" if ok else "lost")
        if self.metrics:
            self.metrics.camera_up.set(1 if ok else 0)
            if self.publisher:
                self.metrics.backlog.set(self.publisher.backlog)

    def _check_model_file(self) -> None:
        """Say once that the model file changed on disk: the loaded copy keeps running."""
        if self._model_stat is None or _stat(self._model_path) == self._model_stat:
            return
        log.warning(
            "%s changed on disk; still running the loaded model (sha256 %s…); restart to use "
            "the new file",
            self._model_path,
            self.classifier.card.sha256[:12],
        )
        self._model_stat = None

    def _status(self, problem: str | None = None) -> str:
        s = self.summary
        camera = f"camera lost: {problem}" if problem else "camera ok"
        if not s.frames_seen and problem:
            camera = f"waiting for the first frame: {problem}"
        text = (
            f"{s.frames_processed} frames processed, {s.faces} faces, {s.windows} windows, "
            + camera
        )
        if self.log.dropped:
            text += f", {self.log.dropped} log records dropped ({self.log.last_error or 'ok now'})"
        return text


def _stat(path: str | None) -> tuple | None:
    """What tells a replaced file apart: inode, size, mtime (None when there is no such file)."""
    try:
        st = os.stat(path) if path else None
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns) if st else None
