"""The ``fer-edge`` command line: its group and subcommands (shared parts: base)."""

from __future__ import annotations

import logging

import click

from .. import __version__
from .base import FerGroup, setup_logging

log = logging.getLogger(__name__)


@click.group(cls=FerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fer-edge")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """Student expression recognition on the edge: on-device, aggregates only."""
    setup_logging(verbose)


def _register() -> None:
    from .models import models
    from .service import install_service, uninstall_service

    main.add_command(models)
    from .run import COMMANDS

    for command in COMMANDS:
        main.add_command(command)
    main.add_command(install_service)
    main.add_command(uninstall_service)


_register()
