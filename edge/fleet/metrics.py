"""A Prometheus text endpoint on 127.0.0.1 (prometheus-client): how the daemon is doing.

Counts and timings only — frames, faces, per-stage latency, camera state, records written,
dropped, published and waiting — never a class share: expression figures leave the device only
as window records (the log, MQTT).
"""

from __future__ import annotations

import logging

from ..contract.errors import ConfigError

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
#: Per-stage latency buckets, seconds: 1 ms (a crop) to 1 s (a Raspberry Pi classifying a room).
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class Metrics:
    """The daemon's metrics in a registry of their own, served on ``HOST:port``."""

    def __init__(self, port: int) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.port = port
        self.registry = registry = CollectorRegistry()
        self.frames = Counter(
            "fer_edge_frames", "Frames by what became of them.", ["state"], registry=registry
        )
        self.faces = Counter(
            "fer_edge_faces", "Faces detected in processed frames.", registry=registry
        )
        self.fps = Gauge(
            "fer_edge_fps", "Frames processed per second, last window.", registry=registry
        )
        self.stage = Histogram(
            "fer_edge_stage_seconds",
            "Time per processed frame in each pipeline stage.",
            ["stage"],
            buckets=BUCKETS,
            registry=registry,
        )
        self.camera_up = Gauge("fer_edge_camera_up", "1 while frames arrive.", registry=registry)
        self.records = Counter(
            "fer_edge_records", "Window records by outcome.", ["outcome"], registry=registry
        )
        self.backlog = Gauge(
            "fer_edge_publish_backlog",
            "Records logged but not yet acknowledged by the broker.",
            registry=registry,
        )
        for state in ("processed", "dropped"):
            self.frames.labels(state)
        for outcome in ("written", "dropped", "published"):
            self.records.labels(outcome)

        self._seconds: dict[str, float] = {}

    def observe_frame(self, stage_seconds: dict[str, float], faces: int) -> None:
        """A processed frame: ``stage_seconds`` is the pipeline's running total per stage."""
        self.frames.labels("processed").inc()
        self.faces.inc(faces)
        for stage, total in stage_seconds.items():
            self.stage.labels(stage).observe(total - self._seconds.get(stage, 0.0))
            self._seconds[stage] = total

    def start(self) -> None:
        from prometheus_client import start_http_server

        try:
            start_http_server(self.port, addr=HOST, registry=self.registry)
        except OSError as exc:
            raise ConfigError(
                f"metrics-port {self.port}: cannot listen on {HOST} ({exc.strerror})"
            ) from None
        log.info("metrics on http://%s:%d/metrics", HOST, self.port)
