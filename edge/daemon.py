"""The classroom daemon: frames in, aggregate windows out. Never stores a frame or a face."""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field

from .capture.devices import capture_settings, open_source
from .capture.events import DROPPED, FOUND, FRAME, LOST, RETRYING, FrameSource
from .classify.default_model import resolve_model
from .classify.prior import prior_for_run
from .config import RunConfig
from .contract.card import load_for_model
from .contract.errors import CardError, ConfigError, ModelFileError
from .faces.detect import FaceDetector
from .faces.factory import build_detector
from .faces.tracker import IouTracker
from .fleet.metrics import Metrics
from .pipeline import FramePipeline, Predictor
from .record.aggregate import WindowAggregator
from .record.jsonl import JsonlLog
from .record.timeutil import parse_iso
from .service.notify import Notifier

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


def load_classifier(config: RunConfig) -> Predictor:
    """The model, checked against its card (sha256, shapes, dtypes, quantisation).

    A missing, broken or mismatched model is a configuration error (exit 78): restarting the
    service cannot fix it, so systemd must not restart-loop on it.
    """
    from .classify.runtime import Classifier, select_runtime

    model = resolve_model(config.model)
    try:
        card = load_for_model(model, config.card)
        return Classifier(
            model, card=card, threads=config.threads, runtime=select_runtime(config.runtime)
        )
    except (CardError, ModelFileError) as exc:
        raise ConfigError(str(exc)) from None


class Daemon:
    """Runs the pipeline over a source until it ends, ``max_frames`` or :meth:`stop`."""

    def __init__(
        self,
        config: RunConfig,
        classifier: Predictor | None = None,
        detector: FaceDetector | None = None,
        source: FrameSource | None = None,
        notifier: Notifier | None = None,
        clock=time.time,
    ) -> None:
        self.config = config
        # The log dir first: an unusable one is a one-line error before anything is loaded.
        self.log = JsonlLog(config.resolved_log_dir, config.keep_days, config.min_free_mb)
        self.log.prepare()
        start = parse_iso(config.start_time) if config.start_time else None
        self.source = source or open_source(
            config.camera,
            config.frame_timeout,
            config.reconnect_max,
            start=start,
            give_up=config.resolved_camera_wait,
            capture=capture_settings(config),
        )
        self.detector = detector or build_detector(
            config.detector, config.face_model, config.score, config.min_face, config.detect_width
        )
        self.classifier = classifier or load_classifier(config)
        self.notifier = notifier or Notifier()
        self._model_path = getattr(self.classifier, "model_path", None)
        self._model_stat = _stat(self._model_path)
        self.metrics = Metrics(config.metrics_port) if config.metrics_port else None
        self.publisher = None
        self._clock = clock
        self._stop = threading.Event()
        self.summary = RunSummary()

    def stop(self, why: str = "signal") -> None:
        """Ask the run to end: safe from a signal handler."""
        self.summary.stopped_by = why
        self._stop.set()
        self.source.close()

    def _emit(self, record: dict) -> None:
        record["records_dropped"] = self.log.dropped
        written = self.log.write(record)
        if written:
            self.summary.windows += 1
        self._check_model_file()
        if self.metrics:
            self.metrics.records.labels("written" if written else "dropped").inc()
            self.metrics.fps.set(record["frames_processed"] / self.config.window)
        if written and self.publisher:
            self.publisher.notify()

    def _start_fleet(self, card) -> None:
        """MQTT publishing and the metrics endpoint, where configured."""
        from .fleet.mqtt import MqttSettings

        settings = MqttSettings.from_config(self.config)
        if settings is not None:
            from .fleet.mqtt import MqttPublisher

            self.publisher = MqttPublisher(settings, self.log.log_dir, card.sha256)
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

    def run(self) -> RunSummary:
        config, source, notifier = self.config, self.source, self.notifier
        self.log.lock()  # one daemon per log dir: a second exits here, naming the first's pid
        log.warning(RESPONSIBLE_USE)
        tracker = IouTracker(config.track_iou, config.track_max_age, config.smoothing)
        card = self.classifier.card
        self._start_fleet(card)
        prior = prior_for_run(card, config.prior_correction)
        pipeline = FramePipeline(
            self.detector,
            self.classifier,
            tracker,
            config.reclassify,
            prior=prior,
            detect_every=config.detect_every,
            gate=config.quality_gate,
        )
        live = source.live
        aggregator = WindowAggregator(
            config.window,
            config.min_group,
            card.labels,
            card.sha256,
            origin=0.0 if live else source.start,
            source="live" if live else "file",
            prior_correction=prior is not None,
        )
        interval = 1.0 / config.max_fps if config.max_fps else 0.0
        last_processed = float("-inf")
        last_ts = None
        last_status = self._clock()
        problem = last_problem = why = None  # what is wrong with the camera now; the reason
        ready = False
        s = self.summary
        log.info("reading %s; logs in %s", source.name, self.log.log_dir)
        try:
            for event in source:
                kind = event.kind
                if kind == LOST:
                    aggregator.camera_lost(event.ts)  # since the last frame: no time passes
                else:
                    if kind == FOUND:
                        aggregator.camera_found(event.ts)
                    for record in aggregator.advance(event.ts):
                        self._emit(record)
                if kind == DROPPED:
                    aggregator.drop(event.count)
                    s.frames_seen += event.count
                if self._stop.is_set():
                    break
                if event.problem:
                    problem, why = event.problem, event.why
                elif kind == FRAME:
                    problem = None
                if self._clock() - last_status >= 10.0 or problem != last_problem:
                    last_status, last_problem = self._clock(), problem
                    self._camera_state(problem is None)
                    if ready:
                        notifier.status(self._status(problem))
                    else:  # systemd's start timeout must not kill a service waiting for a camera
                        notifier.extending(self._status(problem), 30.0)
                if kind != FRAME:
                    if kind == RETRYING:
                        notifier.watchdog()  # alive and reopening the camera, not hung
                    continue
                ts, frame = event.ts, event.frame
                last_ts = ts
                s.frames_seen += 1
                if ts - last_processed < interval - 1e-6:
                    aggregator.frame(processed=False)
                else:
                    last_processed = ts
                    observations = pipeline.process(ts, frame)
                    aggregator.frame(processed=True)
                    aggregator.faces(observations)
                    s.frames_processed += 1
                    s.faces += len(observations)
                    if self.metrics:
                        self.metrics.observe_frame(pipeline.seconds, len(observations))
                    if not ready:
                        ready = True
                        notifier.ready(self._status())
                        log.info("ready: first frame processed (%d faces)", len(observations))
                    notifier.watchdog()
                if config.max_frames and s.frames_seen >= config.max_frames:
                    s.stopped_by = "max-frames"
                    break
        finally:
            source.close()
            if live:
                end = self._clock()
            else:
                end = last_ts + 1.0 / source.fps if last_ts is not None else None
            if end is not None:
                # A file that ends exactly on a window boundary completes that window.
                for record in aggregator.advance(end) if not live else ():
                    self._emit(record)
                record = aggregator.flush(end)
                if record is not None:
                    self._emit(record)
            s.records_dropped = self.log.dropped
            s.stage_seconds = dict(pipeline.seconds)
            if not s.frames_seen and live:
                s.camera_problem = f"{source.name}: {why}" if why else source.name
            notifier.status(self._status() + f"; stopping ({s.stopped_by})")
            notifier.stopping()
            if self.publisher:
                self.publisher.stop()
                s.unsent = self.publisher.backlog
            self.log.close()
        log.info(
            "stopped (%s): %d frames seen, %d processed, %d windows, %d records dropped",
            s.stopped_by,
            s.frames_seen,
            s.frames_processed,
            s.windows,
            s.records_dropped,
        )
        return s


def _stat(path: str | None) -> tuple | None:
    """What tells a replaced file apart: inode, size, mtime (None when there is no such file)."""
    try:
        st = os.stat(path) if path else None
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns) if st else None
