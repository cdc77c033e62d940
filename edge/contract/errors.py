"""Exceptions with one-line, user-facing messages."""


class FerError(Exception):
    """Base class: the message is a complete one-line explanation for the user."""

    #: The command's exit status (sysexits.h codes where one fits).
    exit_code = 1


class ConfigError(FerError):
    """Bad configuration or arguments (the daemon exits with EX_CONFIG, 78)."""

    exit_code = 78


class UnknownLabelError(FerError, ValueError):
    """A label that maps onto no canonical class."""


class CardError(FerError):
    """A model card that is missing, malformed or does not match its model."""


class ImageReadError(FerError):
    """An image file that cannot be read or decoded."""


class ModelFileError(FerError):
    """A model file (classifier, YuNet, cascade) that is missing or unusable."""


class CameraUnavailable(FerError):
    """No first frame within ``camera-wait`` (EX_UNAVAILABLE, 69: systemd may restart)."""

    exit_code = 69


class LogWriteError(FerError):
    """A run produced window records but could store none of them (EX_IOERR, 74)."""

    exit_code = 74


class OutputError(FerError, OSError):
    """An output file that cannot be created where asked (EX_CANTCREAT, 73).

    Also an :class:`OSError`, so code that handles failed writes keeps handling it.
    """

    exit_code = 73


class LogDirBusy(FerError):
    """Another daemon writes to the same log folder (EX_TEMPFAIL, 75: retry once it stops)."""

    exit_code = 75
