"""Exceptions with one-line, user-facing messages."""


class FerError(Exception):
    """Base class: the message is a complete one-line explanation for the user."""


class ConfigError(FerError):
    """Bad configuration or arguments (the daemon exits with EX_CONFIG, 78)."""


class UnknownLabelError(FerError, ValueError):
    """A label that maps onto no canonical class."""


class CardError(FerError):
    """A model card that is missing, malformed or does not match its model."""


class ImageReadError(FerError):
    """An image file that cannot be read or decoded."""


class ModelFileError(FerError):
    """A model file (classifier, YuNet, cascade) that is missing or unusable."""
