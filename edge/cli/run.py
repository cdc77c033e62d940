"""``fer-edge run`` (the daemon), ``check-config``, ``bench``, ``doctor``, ``survey`` and
``report``."""

from __future__ import annotations

import faulthandler
import json
import logging
import signal
import sys
from pathlib import Path

import click

from ..config import SECTIONS, build_config
from ..options import click_options

log = logging.getLogger(__name__)


def config_options(func):
    """Add ``--config`` and one flag per RunConfig option (all default to 'not given')."""
    for cls in reversed(SECTIONS.values()):
        func = click_options(cls)(func)
    return click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="TOML file with any of these options (flags override it).",
    )(func)


@click.command("run")
@config_options
def run(config_file: Path | None, **options) -> None:
    """Run the classroom daemon: aggregates per window to JSON Lines, nothing else stored."""
    from ..contract.errors import LogWriteError
    from ..daemon import Daemon

    faulthandler.enable(file=sys.__stderr__ or sys.stderr)
    if logging.getLogger().level > logging.INFO:
        logging.getLogger().setLevel(logging.INFO)
    from ..assemble import build_pipeline

    config = build_config(config_file, options)
    daemon = Daemon(build_pipeline(config))

    def on_signal(signum, _frame):
        log.info("%s received: flushing the current window", signal.Signals(signum).name)
        daemon.stop(signal.Signals(signum).name)

    def on_hangup(signum, _frame):
        log.warning(
            "SIGHUP received: nothing to reload (the configuration is read at start: restart to "
            "change it; log files are reopened at every write); running on"
        )

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    signal.signal(signal.SIGHUP, on_hangup)
    summary = daemon.run()
    never = f"; no frame ever arrived ({summary.camera_problem})" if summary.camera_problem else ""
    unsent = "" if summary.unsent is None else f", {summary.unsent} waiting for the MQTT broker"
    click.echo(
        f"{summary.windows} windows written to {config.resolved_log_dir} "
        f"({summary.frames_processed} frames processed, {summary.records_dropped} records "
        f"dropped{unsent}; stopped by {summary.stopped_by}{never})",
        err=True,
    )
    if summary.records_dropped and not summary.windows:
        raise LogWriteError(
            f"log dir {config.resolved_log_dir}: none of the {summary.records_dropped} window "
            f"records could be stored ({daemon.log.last_error or 'write failed'})"
        )


@click.command("check-config")
@click.argument(
    "config_path", required=False, type=click.Path(dir_okay=False, path_type=Path), default=None
)
@config_options
def check_config(config_path: Path | None, config_file: Path | None, **options) -> None:
    """Check the configuration (CONFIG or --config, + flags) as `run` would, without running:
    the options, the model and its card, the face model, the log folder; exit 78 if bad."""
    from ..assemble import check_runnable

    config = build_config(config_file or config_path, options)
    check_runnable(config)
    click.echo(json.dumps(config.to_dict(), indent=2))
    click.echo("configuration OK", err=True)


#: ``bench`` without --max-frames: enough frames for stable per-stage times.
BENCH_FRAMES = 300


@click.command("bench")
@config_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
def bench(config_file: Path | None, as_json: bool, **options) -> None:
    """Per-stage timings of the daemon's pipeline on a camera or clip (nothing is logged).

    --max-frames frames are processed (a clip is replayed to reach them) [300 here]."""
    from ..tools.benchmark import run_bench

    config = build_config(config_file, options)
    result = run_bench(config, config.max_frames or BENCH_FRAMES)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        click.echo(f"{key:>24}: {value}")


@click.command("doctor")
@config_options
def doctor(config_file: Path | None, **options) -> None:
    """Check runtime, OpenCV, face model, camera, model card and log folder for this
    configuration: PASS, WARN (not needed by it, or a fallback) or FAIL each; exit 1 on a FAIL.

    Changes nothing: the only file written is a probe in an existing log folder, removed."""
    from ..tools.doctor import FAIL, run_checks

    config = build_config(config_file, options)
    failed = 0
    for status, name, detail in run_checks(config):
        click.echo(f"{status}  {name}: {detail}")
        failed += status == FAIL
    if failed:
        click.echo(f"{failed} check(s) failed", err=True)
        sys.exit(1)


@click.command("survey")
@config_options
@click.option(
    "--seconds", type=click.FloatRange(1, 3600), default=60.0, show_default=True,
    help="How long to watch.",
)  # fmt: skip
def survey(config_file: Path | None, seconds: float, **options) -> None:
    """Is the camera, as installed, good enough? Face sizes, readable share, advice; stores
    nothing."""
    from ..assemble import load_card
    from ..tools.survey import run_survey

    config = build_config(config_file, options)
    card = load_card(config)
    for line in run_survey(config, seconds, card).lines():
        click.echo(line)


@click.command("report")
@click.option(
    "--log-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=Path("fer-edge-logs"),
    show_default=True,
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help=".png/.html/.csv"
)
@click.option(
    "--tz",
    default=None,
    help="Time zone of the charts' time axis, e.g. Europe/Berlin or UTC [local]; CSV stays UTC.",
)
def report(log_dir: Path, out: Path, tz: str | None) -> None:
    """A timeline of class shares per window; suppressed windows are shown hatched."""
    from ..record.report import write_report

    n = write_report(log_dir, out, tz)
    click.echo(f"wrote {out} ({n} windows)")


COMMANDS = (run, check_config, bench, doctor, survey, report)
