"""Fault drill: faults during one ``fer-edge run`` on a looping clip, and what the daemon did.

In order, 5 s windows: the camera stalls (8 s) and resumes; the log disk (a small tmpfs) fills
and is freed again; SIGHUP; the model file is overwritten in place (as ``cp`` does); SIGTERM.
Then every line of the logs is checked: parses (no torn line), no window twice, and each window
missing from the logs is accounted for by a dropped record. Prints one JSON object (~1.5 min).
Needs root for the tmpfs (``mount``); without it the disk-full step is skipped and says why.

    python bench/bench_drill.py [--max-fps 5]
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from daemon_harness import Daemon, check_log, model_for_bench, write_looping_clip
from daemon_harness import run_args as harness_run_args

WINDOW = 5.0


def mount_tmpfs(path: Path, size: str) -> str | None:
    """Mount a tmpfs at ``path``; None when done, else why not."""
    path.mkdir()
    if shutil.which("mount") is None:
        return "no mount command"
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    return None if done.returncode == 0 else f"mount failed: {done.stderr.strip()}"


def fill(folder: Path) -> int:
    """Fill ``folder``'s file system with one file; returns its size in bytes."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    written = 0
    try:
        while True:
            written += os.write(fd, b"\0" * 4096)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)
    return written


def lines_with(path: Path, *needles: str) -> list[str]:
    text = path.read_text(errors="replace").splitlines()
    return [line.split(": ", 1)[-1][:240] for line in text if any(n in line for n in needles)]


def status_lines(daemon: Daemon, since: float, until: float) -> list[str]:
    out = []
    for t, message in daemon.messages:
        if since <= t <= until:
            out += [m[7:] for m in message.split("\n") if m.startswith("STATUS=")]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-fps", type=float, default=5.0)
    args = parser.parse_args()
    steps: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="fer-bench-drill-") as tmp:
        tmp = Path(tmp)
        clip, control, logs = tmp / "classroom.avi", tmp / "control", tmp / "logs"
        write_looping_clip(clip, control)
        original = model_for_bench(tmp)
        model = tmp / "model" / original.name  # a copy: the drill overwrites it
        model.parent.mkdir()
        shutil.copy(original, model)
        shutil.copy(original.with_suffix(".json"), model.with_suffix(".json"))
        no_tmpfs = mount_tmpfs(logs, "256k")
        run_args = harness_run_args(model)
        run_args += ["--window", str(WINDOW), "--max-fps", str(args.max_fps), "--threads", "1"]
        run_args += ["--log-dir", str(logs), "--min-free-mb", "0", "--frame-timeout", "2"]
        run_args += ["--reconnect-max", "2"]
        daemon = Daemon(tmp, clip, control, run_args)
        try:
            daemon.wait_for(lambda: daemon.notified("READY=1"), 120, "READY=1")
            time.sleep(2 * WINDOW)

            # 1. the camera stalls for 8 s, then delivers again
            t = time.monotonic() - daemon.started
            (control / "stall").touch()
            time.sleep(8)
            (control / "stall").unlink()
            back = daemon.wait_for(lambda: daemon.said("frames again"), 30, "frames again")
            time.sleep(WINDOW)
            steps["camera stalls 8 s and resumes"] = {
                "frames_again_s_after_resume": round(back, 1),
                "log": lines_with(daemon.stderr_path, "no frame for", "frames again")[:4],
                "status": sorted(set(status_lines(daemon, t, t + 20)))[:3],
                "alive": daemon.proc.poll() is None,
            }

            # 2. the log disk fills, then is freed
            if no_tmpfs:
                steps["log disk fills and frees"] = {"skipped": no_tmpfs}
            else:
                t = time.monotonic() - daemon.started
                filled = fill(logs)
                time.sleep(2.5 * WINDOW)
                (logs / "filler").unlink()
                again = daemon.wait_for(
                    lambda: daemon.said("log writes work again"), 3 * WINDOW, "writes again"
                )
                steps["log disk fills and frees"] = {
                    "tmpfs": "256k",
                    "filler_bytes": filled,
                    "writes_again_s_after_free": round(again, 1),
                    "log": lines_with(daemon.stderr_path, "record dropped", "work again")[:3],
                    "status": [s for s in status_lines(daemon, t, t + 30) if "dropped" in s][:2],
                    "alive": daemon.proc.poll() is None,
                }

            # 3. SIGHUP
            daemon.signal(signal.SIGHUP)
            time.sleep(2)
            steps["SIGHUP"] = {
                "alive": daemon.proc.poll() is None,
                "log": lines_with(daemon.stderr_path, "SIGHUP"),
            }

            # 4. the model file is overwritten in place with another file's bytes (cp)
            sha_before = json.loads(model.with_suffix(".json").read_text())["model"]["sha256"]
            with open(model, "r+b") as fh:
                fh.truncate(0)
                fh.write(b"not a model any more\n" * 1000)
            time.sleep(2 * WINDOW)
            steps["model file overwritten in place"] = {
                "alive": daemon.proc.poll() is None,
                "log": lines_with(daemon.stderr_path, "changed on disk"),
                "card_sha256": sha_before[:12],
            }

            # 5. SIGTERM
            t0 = time.monotonic()
            daemon.signal(signal.SIGTERM)
            rc = daemon.wait()
            steps["SIGTERM"] = {
                "exit_code": rc,
                "exit_s": round(time.monotonic() - t0, 2),
                "last_notify": daemon.messages[-1][1] if daemon.messages else None,
                "summary": lines_with(daemon.stderr_path, "windows written"),
            }
        finally:
            daemon.kill()
            log = check_log(logs)
            if not no_tmpfs:
                subprocess.run(["umount", str(logs)], check=False)
    records = log.pop("records_list")
    shas = sorted({r["model_sha256"][:12] for r in records})
    dropped = max((r.get("records_dropped", 0) for r in records), default=0)
    gap_windows = [r["start"][11:19] for r in records if r["camera"]["status"] != "ok"]
    missing = sum(_windows_between(b["after"], b["next"]) for b in log["breaks"])
    report = {
        "benchmark": "daemon fault drill (fer-edge run on a looping clip)",
        "window_s": WINDOW,
        "model": original.name,
        "steps": steps,
        "log": {
            **log,
            "model_sha256_in_records": shas,
            "windows_with_camera_gap": gap_windows,
            "records_dropped_reported": dropped,
            "windows_missing_from_logs": missing,
            "last_record_partial": bool(records and records[-1].get("partial")),
        },
        "checks": {
            "every_line_parses_no_torn_line": log["unparsable_or_torn"] == 0,
            "no_duplicate_window": log["duplicated_windows"] == 0,
            "missing_windows_are_the_dropped_ones": missing == dropped,
            "camera_gap_recorded": bool(gap_windows),
            "loaded_model_kept_running": shas
            == [steps["model file overwritten in place"]["card_sha256"]],
            "survived_every_fault": all(s.get("alive", True) for s in steps.values()),
            "clean_exit_on_sigterm": steps.get("SIGTERM", {}).get("exit_code") == 0,
        },
    }
    print(json.dumps(report, indent=2))


def _windows_between(after: str, following: str) -> int:
    from fer_edge.record.timeutil import parse_iso

    return round((parse_iso(following) - parse_iso(after)) / WINDOW)


if __name__ == "__main__":
    main()
