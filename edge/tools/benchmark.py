"""``fer-edge bench``: the daemon's pipeline, timed per stage, on a camera or a clip."""

from __future__ import annotations

import os
import resource
import sys
import time

import numpy as np

from ..assemble import frame_pipeline, load_classifier, make_aggregator, make_detector, open_camera
from ..capture.events import FRAME
from ..config import RunConfig
from ..faces.crop import crop_faces


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak * 1024 / 1e6


def _frames(config: RunConfig, n: int):
    """``n`` frames from the source; a clip is replayed from the start when it ends."""
    got, start = 0, 0.0
    while got < n:
        source = open_camera(config, start=start)
        produced = 0
        t0 = time.perf_counter()
        for event in source:
            if event.kind != FRAME:
                t0 = time.perf_counter()
                continue
            capture = time.perf_counter() - t0
            yield event.ts, event.frame, capture
            got += 1
            produced += 1
            if got >= n:
                source.close()
                break
            t0 = time.perf_counter()
        if source.live or produced == 0:
            break
        start += produced / source.fps  # a replay continues the clip's time


def raw_interpreter_ms(classifier, crops: np.ndarray, repeats: int = 20) -> tuple[float, float]:
    """(adapter ms, interpreter-only ms) per call for the same batch, median of ``repeats``.

    The difference is what the adapter adds: quantising the crops and dequantising the output.
    """
    batch = classifier.to_input(crops)
    classifier.invoke(batch)  # sizes the tensors for this batch
    adapter, bare = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        classifier.predict(crops)
        t1 = time.perf_counter()
        classifier.invoke(batch)
        t2 = time.perf_counter()
        adapter.append(t1 - t0)
        bare.append(t2 - t1)
    return float(np.median(adapter) * 1e3), float(np.median(bare) * 1e3)


def run_bench(config: RunConfig, frames: int = 300) -> dict:
    """Per-stage milliseconds per frame (classification also per face), fps, faces/s, peak RSS."""
    classifier = load_classifier(config)
    detector = make_detector(config)
    pipeline = frame_pipeline(config, detector, classifier)
    aggregator = make_aggregator(config, classifier.card, None)
    capture = aggregate = 0.0
    n = 0
    last_frame = None
    t_start, cpu_start = time.perf_counter(), time.process_time()
    first_ts = last_ts = None
    for ts, frame, capture_s in _frames(config, frames):
        first_ts = ts if first_ts is None else first_ts
        last_ts = ts
        capture += capture_s
        observations = pipeline.process(ts, frame)
        t0 = time.perf_counter()
        aggregator.advance(ts)
        aggregator.frame(processed=True)
        aggregator.faces(observations)
        aggregate += time.perf_counter() - t0
        n += 1
        last_frame = frame
    wall, cpu = time.perf_counter() - t_start, time.process_time() - cpu_start
    if n == 0:
        from ..contract.errors import FerError

        raise FerError(f"{config.camera}: no frames to benchmark")
    seconds = pipeline.seconds
    faces = pipeline.faces
    stage_ms = {
        "capture": capture / n * 1e3,
        "detect": seconds["detect"] / n * 1e3,
        "crop": seconds["crop"] / n * 1e3,
        "classify": seconds["classify"] / n * 1e3,
        "track": seconds["track"] / n * 1e3,
        "aggregate": aggregate / n * 1e3,
    }
    frame_ms = wall / n * 1e3
    result = {
        "source": config.camera,
        "frames": n,
        "frame_shape": list(last_frame.shape),
        "faces_per_frame": round(faces / n, 2),
        "detector": detector.name,
        "detect_width": config.detect_width,
        "runtime": getattr(getattr(classifier, "runtime", None), "name", None),
        "model_input": classifier.card.input_size,
        "model_mode": classifier.card.mode,
        "model_sha256": classifier.card.sha256,
        "estimator": config.estimator,
        "ms_per_frame": {stage: round(ms, 3) for stage, ms in stage_ms.items()},
        "share_of_frame_time": {
            **{stage: round(ms / frame_ms, 3) for stage, ms in stage_ms.items()},
            "other": round(1 - sum(stage_ms.values()) / frame_ms, 3),
        },
        "reclassify_s": config.reclassify,
        "detect_every": config.detect_every,
        "min_face": config.min_face,
        "detector_runs_per_frame": round(pipeline.detections / n, 3),
        "unreadable_per_frame": round(pipeline.unreadable / n, 2),
        "classifications_per_s": round(pipeline.classified / wall, 1),
        # per second of the source's own time: what a live camera at any frame rate needs
        "classifications_per_source_s": (
            round(pipeline.classified / (last_ts - first_ts), 1) if last_ts > first_ts else None
        ),
        "max_s_since_classified": round(pipeline.max_staleness, 3),
        "faces_classified_per_frame": round(pipeline.classified / n, 2),
        "classify_ms_per_face": (
            round(seconds["classify"] / pipeline.classified * 1e3, 3)
            if pipeline.classified
            else None
        ),
        "fps": round(n / wall, 2),
        # CPU time of all the process's threads over the frames (not the set-up): on a shared
        # machine, what the wall clock hides
        "cpu_ms_per_frame": round(cpu / n * 1e3, 2),
        "faces_per_s": round(faces / wall, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "tensorflow_imported": "tensorflow" in sys.modules,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cores": os.cpu_count(),
    }
    crops = crop_faces(last_frame, detector.detect(last_frame), classifier.card.crop)
    if len(crops) and hasattr(classifier, "invoke"):
        adapter_ms, bare_ms = raw_interpreter_ms(classifier, crops)
        result["batch"] = {
            "faces": len(crops),
            "adapter_ms": round(adapter_ms, 3),
            "raw_interpreter_ms": round(bare_ms, 3),
            "ratio": round(adapter_ms / bare_ms, 3) if bare_ms else None,
        }
    return result
