"""The composition root: the device pipeline built from a :class:`~.config.RunConfig`, once.

``fer-edge run`` (:mod:`.daemon`), ``bench``, ``doctor`` and ``survey`` all build their parts
here, so a pipeline option reaches every tool the same way. Tests inject fakes for any part
(``source``, ``detector``, ``classifier``, ``notifier``, ``clock``).
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .capture.devices import capture_settings, open_source
from .capture.events import FrameSource
from .classify.packaged_model import resolve_model
from .classify.shares import ShareEstimator
from .config import RunConfig
from .contract.atomic import why_not_writable
from .contract.card import ModelCard, load_for_model
from .contract.errors import CardError, ConfigError, FerError, ModelFileError
from .faces.detect import FaceDetector
from .faces.factory import build_detector
from .faces.tracker import IouTracker
from .frame_pipeline import FramePipeline, Predictor
from .record.aggregate import WindowAggregator
from .record.jsonl import JsonlLog
from .record.timeutil import parse_iso
from .service.notify import Notifier

log = logging.getLogger(__name__)


@dataclass
class Parts:
    """What a run is made of: built by :func:`build_pipeline`, run by :class:`~.daemon.Daemon`."""

    config: RunConfig
    source: FrameSource
    frames: FramePipeline  # detector, tracker, quality gate and classifier
    aggregator: WindowAggregator
    log: JsonlLog | None
    notifier: Notifier
    clock: Callable[[], float]

    @property
    def classifier(self) -> Predictor:
        return self.frames.classifier

    @property
    def detector(self) -> FaceDetector:
        return self.frames.detector

    @property
    def card(self) -> ModelCard:
        return self.frames.classifier.card


def open_camera(
    config: RunConfig, start: float | None = None, frame_timeout: float | None = None
) -> FrameSource:
    """The configured source; ``start`` (a file's first frame time) defaults to ``start_time``."""
    if start is None and config.start_time:
        start = parse_iso(config.start_time)
    return open_source(
        config.camera,
        config.frame_timeout if frame_timeout is None else frame_timeout,
        config.reconnect_max,
        start=start,
        give_up=config.resolved_camera_wait,
        capture=capture_settings(config),
    )


def make_detector(config: RunConfig) -> FaceDetector:
    """The configured detector (:func:`.faces.factory.build_detector`: tiling, reduced copy)."""
    return build_detector(
        config.detector, config.face_model, config.score, config.min_face, config.detect_width
    )


def load_card(config: RunConfig) -> ModelCard:
    """The model's card, checked against the model file (sha256); ConfigError (exit 78) if not.

    What ``check-config`` can check without loading a runtime.
    """
    try:
        return load_for_model(resolve_model(config.model), config.card)
    except (CardError, ModelFileError) as exc:
        raise ConfigError(str(exc)) from None


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


def frame_pipeline(
    config: RunConfig, detector: FaceDetector, classifier: Predictor
) -> FramePipeline:
    """Detector, tracker, quality gate and classifier, as configured."""
    return FramePipeline(
        detector,
        classifier,
        IouTracker(config.track_iou, config.track_max_age, config.smoothing),
        config.reclassify,
        detect_every=config.detect_every,
        gate=config.quality_gate,
    )


def make_aggregator(
    config: RunConfig, card: ModelCard, source: FrameSource | None
) -> WindowAggregator:
    """Windows of ``config.window`` s: a live source's on the clock, a file's from its start;
    their shares estimated by ``config.estimator`` (:mod:`.classify.shares`)."""
    live = source is None or source.live
    return WindowAggregator(
        config.window,
        config.min_group,
        card.labels,
        card.sha256,
        origin=0.0 if live else source.start,
        source="live" if live else "file",
        estimator=ShareEstimator(card, config.estimator, config.prior_correction),
    )


def build_pipeline(
    config: RunConfig,
    *,
    source: FrameSource | None = None,
    detector: FaceDetector | None = None,
    classifier: Predictor | None = None,
    notifier: Notifier | None = None,
    clock: Callable[[], float] = time.time,
    with_log: bool = True,
) -> Parts:
    """Every part of a run, from ``config``; a part given is used instead of being built.

    The log folder comes first (``with_log``): an unusable one is a one-line error before a
    camera is opened or a model loaded.
    """
    log_ = None
    if with_log:
        log_ = JsonlLog(config.resolved_log_dir, config.keep_days, config.min_free_mb)
        log_.prepare()
    source = source or open_camera(config)
    detector = detector or make_detector(config)
    classifier = classifier or load_classifier(config)
    frames = frame_pipeline(config, detector, classifier)
    return Parts(
        config=config,
        source=source,
        frames=frames,
        aggregator=make_aggregator(config, classifier.card, source),
        log=log_,
        notifier=notifier or Notifier(),
        clock=clock,
    )


# -- checks without running: check-config and doctor -------------------------------------------
def log_dir_problem(folder: Path) -> str | None:
    """Why the daemon could not keep its logs in ``folder``, or None; leaves nothing behind.

    An existing folder gets a probe file, a missing one a probe folder in its nearest existing
    parent (where the daemon would create it); each probe is removed at once.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        return f"log dir {folder}: is a file, not a folder"
    parent = folder.absolute()
    while not parent.exists():
        parent = parent.parent
    exists = parent == folder.absolute()
    try:
        if exists:
            fd, probe = tempfile.mkstemp(prefix=".fer-edge-probe-", dir=folder)
            os.close(fd)
            os.unlink(probe)
        else:
            os.rmdir(tempfile.mkdtemp(prefix=".fer-edge-probe-", dir=parent))
    except OSError as exc:  # the daemon's own words (record/jsonl.py)
        reason = why_not_writable(parent, exc)
        return f"log dir {folder}: {'not writable' if exists else 'cannot create it'} ({reason})"
    return None


def find_face_model(config: RunConfig) -> Path | None:
    """The YuNet model a run with ``config`` would use; None: none (Haar is used instead).

    Raises ConfigError for a model that is named (``face_model``, ``$FER_EDGE_FACE_MODEL``) but
    missing or not YuNet's, and for none found when ``detector = "yunet"`` needs it.
    """
    from .faces import modelfiles

    if config.detector == "haar":
        return None
    try:
        path = modelfiles.find_yunet(config.face_model)
        if path is not None:
            modelfiles.check_yunet(path)
    except FerError as exc:
        raise ConfigError(f"face-model: {exc}") from None
    if path is None and config.detector == "yunet":
        raise ConfigError("face-model: YuNet not found; " + modelfiles.manual_hint())
    return path


def check_runnable(config: RunConfig) -> None:
    """What ``run`` would refuse before its first frame, checked without running (no camera is
    opened, no runtime loaded, nothing created): the model and its card, the face model the
    detector needs, the log folder. Raises ConfigError naming the first problem.
    """
    load_card(config)
    find_face_model(config)
    why = log_dir_problem(config.resolved_log_dir)
    if why:
        raise ConfigError(why)
