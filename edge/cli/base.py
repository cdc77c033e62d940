"""What every fer-* command line shares: one-line errors with exit codes, and logging.

Logging is configured here, called by each tool's entry point, and nowhere else.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

import click

from ..contract.errors import FerError

EX_ERROR = 1
#: sysexits.h EX_CONFIG: bad configuration; the service unit does not restart on it.
EX_CONFIG = 78

#: Third-party loggers that speak only at debug level (-vv, or -v for fer-train).
NOISY = ("tensorflow", "absl", "keras", "h5py", "matplotlib", "PIL")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def exit_code(exc: FerError) -> int:
    """The error's own status (sysexits.h codes where one fits: 78 configuration, 69 camera
    unavailable, 74 nothing stored), else 1."""
    return getattr(exc, "exit_code", EX_ERROR)


class _OneLineErrors:
    """Turns FerError into ``PROG: error: ...`` on stderr and its exit code; no traceback."""

    prog = "fer-edge"

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except FerError as exc:
            click.echo(f"{self.prog}: error: {exc}", err=True)
            ctx.exit(exit_code(exc))


class FerGroup(_OneLineErrors, click.Group):
    """A tool with subcommands; subclasses set ``prog``."""


class FerCommand(_OneLineErrors, click.Command):
    """A tool that is one command; subclasses set ``prog``."""


def setup_logging(verbose: int, default: int = logging.WARNING) -> None:
    """Each ``-v`` is one level more than the tool's ``default`` (down to DEBUG).

    Third-party chatter (TensorFlow's C++ log, absl, Keras warnings) is silenced above DEBUG.
    """
    level = max(logging.DEBUG, default - 10 * verbose)
    logging.basicConfig(level=level, stream=sys.stderr, format=FORMAT)
    quiet_opencv(level)
    if level > logging.DEBUG:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("GLOG_minloglevel", "3")
        warnings.filterwarnings("ignore", module=r"(tensorflow|keras|absl)(\.|$)")
        for name in NOISY:
            logging.getLogger(name).setLevel(logging.ERROR)


def quiet_opencv(level: int) -> None:
    """Silence OpenCV's own "[ WARN:0@...]" lines: we report problems in our words.

    At DEBUG level they stay (OpenCV's default, warnings) as a debugging aid; an explicit
    ``$OPENCV_LOG_LEVEL`` is respected.
    """
    if os.environ.get("OPENCV_LOG_LEVEL"):
        return
    try:
        import cv2
    except ImportError:  # a tool without OpenCV has nothing to silence
        return
    # OpenCV's LogLevel: 0 silent, 3 warning; cv2.utils.logging from 4.12, cv2.setLogLevel before.
    try:
        from cv2.utils.logging import setLogLevel as set_level
    except ImportError:
        set_level = getattr(cv2, "setLogLevel", None)
    if set_level is not None:
        set_level(3 if level <= logging.DEBUG else 0)
