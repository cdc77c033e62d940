"""The ``fer-edge`` command line. Logging is configured here and nowhere else."""

from __future__ import annotations

import logging
import os
import sys

import click

from . import __version__
from .errors import FerError

log = logging.getLogger(__name__)

EX_CONFIG = 78  # ConfigError.exit_code


class FerGroup(click.Group):
    """Turns FerError into a one-line message and its non-zero exit (78 for configuration).

    Each tool's group subclasses it with its own ``prog`` for the message prefix.
    """

    prog = "fer-edge"

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except FerError as exc:
            click.echo(f"{self.prog}: error: {exc}", err=True)
            ctx.exit(exc.exit_code)


def setup_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    quiet_opencv(verbose)


def quiet_opencv(verbose: int) -> None:
    """Silence OpenCV's own "[ WARN:0@...]" lines: we report problems in our words.

    With -vv they stay (OpenCV's default, warnings) as a debugging aid. An explicit
    ``$OPENCV_LOG_LEVEL`` is respected.
    """
    if os.environ.get("OPENCV_LOG_LEVEL"):
        return
    from cv2.utils import logging as cv_logging

    cv_logging.setLogLevel(
        cv_logging.LOG_LEVEL_WARNING if verbose > 1 else cv_logging.LOG_LEVEL_SILENT
    )


@click.group(cls=FerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fer-edge")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """Student expression recognition on the edge: on-device, aggregates only."""
    setup_logging(verbose)


def _register() -> None:
    from .cli_models import models
    from .cli_service import install_service, uninstall_service

    main.add_command(models)
    from .cli_run import COMMANDS

    for command in COMMANDS:
        main.add_command(command)
    main.add_command(install_service)
    main.add_command(uninstall_service)


_register()

if __name__ == "__main__":  # `python -m fer_edge.cli`, the service's fallback ExecStart
    main(prog_name="fer-edge")
