"""Soak: ``fer-edge run`` on a looping 15-face clip; RSS and open file descriptors over time.

Short mode (default, CI-sized, ~1.5 min): 60 s, a sample every 2 s, 10 s windows, 20 s warm-up.
Long mode (``--long``, for people): 30 min, a sample every 10 s, 60 s windows, 3 min warm-up.
Growth after warm-up = mean of the last 3 samples minus mean of the first 3 after warm-up.
Targets: RSS growth < 5 MB, file descriptors flat (the log file is open only while a record is
written: one more then), no window missing. Prints one JSON object.

    python bench/bench_soak.py [--long] [--seconds S] [--max-fps 5] [--nice 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import tempfile
import time
from pathlib import Path

from daemon_harness import Daemon, check_log, model_for_bench, write_looping_clip
from daemon_harness import run_args as harness_run_args

TARGETS = {"rss_growth_mb": 5.0, "fd_growth": 0, "missing_windows": 0}


def slope_per_hour(samples: list[dict]) -> float | None:
    if len(samples) < 2:
        return None
    ts = [s["t"] for s in samples]
    ys = [s["rss_mb"] for s in samples]
    mt, my = sum(ts) / len(ts), sum(ys) / len(ys)
    var = sum((t - mt) ** 2 for t in ts)
    return (
        3600 * sum((t - mt) * (y - my) for t, y in zip(ts, ys, strict=True)) / var if var else None
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", action="store_true", help="30 min (people), not 60 s (CI)")
    parser.add_argument("--seconds", type=float, default=None, help="override the duration")
    parser.add_argument("--max-fps", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--nice", type=int, default=0, help="run the daemon under nice -n N")
    args = parser.parse_args()
    duration = args.seconds or (1800.0 if args.long else 60.0)
    every = 10.0 if args.long else 2.0
    warmup = 180.0 if args.long else 20.0
    window = 60.0 if args.long else 10.0
    with tempfile.TemporaryDirectory(prefix="fer-bench-soak-") as tmp:
        tmp = Path(tmp)
        clip, control, logs = tmp / "classroom.avi", tmp / "control", tmp / "logs"
        faces = write_looping_clip(clip, control)
        model = model_for_bench(tmp)
        run_args = harness_run_args(model)
        run_args += [
            "--window",
            str(window),
            "--max-fps",
            str(args.max_fps),
            "--log-dir",
            str(logs),
        ]
        run_args += ["--threads", str(args.threads)]
        daemon = Daemon(tmp, clip, control, run_args, nice=args.nice)
        try:
            ready_s = daemon.wait_for(lambda: daemon.notified("READY=1"), 120, "READY=1")
            t0 = time.monotonic()
            samples = []
            while time.monotonic() - t0 < duration:
                sample = daemon.sample()
                sample["t"] = round(time.monotonic() - t0, 1)
                samples.append(sample)
                time.sleep(max(0.0, every - (time.monotonic() - t0) % every))
            daemon.signal(signal.SIGTERM)
            rc = daemon.wait()
        finally:
            daemon.kill()
        log = check_log(logs)
    after = [s for s in samples if s["t"] >= warmup] or samples
    first, last = after[:3], after[-3:]
    growth = sum(s["rss_mb"] for s in last) / len(last) - sum(s["rss_mb"] for s in first) / len(
        first
    )
    fds = [s["fds"] for s in after]
    records = log.pop("records_list")
    result = {
        "duration_s": duration,
        "ready_after_s": round(ready_s, 1),
        "samples": len(samples),
        "rss_mb": {
            "at_warmup_end": round(first[0]["rss_mb"], 1),
            "end": round(samples[-1]["rss_mb"], 1),
            "max": round(max(s["rss_mb"] for s in samples), 1),
            "growth_after_warmup": round(growth, 2),
            "slope_mb_per_hour": round(slope_per_hour(after) or 0.0, 2),
        },
        "fds": {
            "min": min(fds),
            "max": max(fds),
            "growth": fds[-1] - fds[0],
            "samples_above_min": sum(f > min(fds) for f in fds),
        },
        "windows": {
            "written": len(records),
            "missing": len(log["breaks"]),
            "breaks": log["breaks"],
            "unparsable_or_torn": log["unparsable_or_torn"],
            "duplicated": log["duplicated_windows"],
            "camera_not_ok": sum(r["camera"]["status"] != "ok" for r in records),
            "suppressed": sum(bool(r["suppressed"]) for r in records),
        },
        "frames_processed": sum(r["frames_processed"] for r in records),
        "exit_code": rc,
    }
    report = {
        "benchmark": "daemon soak (fer-edge run on a looping clip)",
        "mode": "long" if args.long else "short",
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        "setup": {
            "model": model.name,
            "clip": f"640x360 15 fps, {faces} faces, 10 s looped",
            "window_s": window,
            "max_fps": args.max_fps,
            "threads": args.threads,
            "sample_every_s": every,
            "warmup_s": warmup,
            "nice": args.nice,
        },
        "result": result,
        "targets": TARGETS,
        "meets": {
            "rss_growth_mb": growth < TARGETS["rss_growth_mb"],
            # flat: back where it started; one more only while a record is being written
            "fds_flat": fds[-1] == fds[0] and max(fds) - min(fds) <= 1,
            "no_window_missing": not log["breaks"] and log["unparsable_or_torn"] == 0,
            "clean_exit": rc == 0,
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
