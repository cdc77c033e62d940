"""Typed options: one dataclass field states an option's default, help, choices and range.

The device's config sections (``capture/options.py``, ``faces/options.py``, ...) and fer-train's
fit options are dataclasses of :func:`option` fields. From those fields come the command-line
flags (:func:`click_options`), the type coercion of TOML values (:func:`coerce`), the range
checks (:func:`check_fields`) and the commented default config the service installer writes,
so a default, a type or a limit is stated once. Importing this module loads neither OpenCV nor
numpy (only ``click`` when flags are built).
"""

from __future__ import annotations

import math
from dataclasses import MISSING, Field, field, fields
from typing import Any, get_args, get_type_hints

from .contract.errors import ConfigError


def option(
    default: Any,
    help: str,
    choices: tuple[str, ...] | None = None,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    off: float | None = None,
    note: str = "",
    path: bool = False,
    example: Any = None,
) -> Any:
    """A dataclass field that is a user-facing option.

    ``help`` is the flag's help text (a None default is described in it); ``choices`` the
    allowed names; ``ge``/``gt`` and ``le``/``lt`` the numeric range (every number option has
    both ends, so inf, nan and absurd values are refused); ``off`` one value outside that range
    that is allowed too (e.g. 0: "not at all"), shown with the range (``0 or [160, 7680]``);
    ``note`` what a boundary or the ``off`` value means, appended to a range error (e.g. "0:
    off"); ``path`` marks a file or folder name that a config file gives relative to its own
    folder; ``example`` a value shown, commented out, in the default config file where the
    default itself is None.
    """
    meta = {
        "help": help,
        "choices": choices,
        "ge": ge,
        "gt": gt,
        "le": le,
        "lt": lt,
        "off": off,
        "note": note,
        "path": path,
        "example": example,
    }
    return field(default=default, metadata=meta)


def flag(name: str) -> str:
    """The command-line (and error message) spelling of option ``name``: dashes."""
    return name.replace("_", "-")


def value_type(cls: type, name: str) -> type:
    """The value type of field ``name`` of ``cls`` (``int`` for ``int | None``)."""
    hint = get_type_hints(cls)[name]
    args = [a for a in get_args(hint) if a is not type(None)]
    return args[0] if args else hint


def coerce(kind: type, key: str, value: Any, where: str) -> Any:
    """``value`` (from TOML or a flag) as a ``kind`` for option ``key``; ConfigError if it is not.

    An int is accepted for a float, and for a string option where it is a name (``camera = 2``).
    """
    if value is None:
        return None
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {key} must be true or false, got {value!r}")
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if kind is float:
            return float(value)
        if kind is str:
            return str(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ConfigError(
            f"{where}: {key} must be {kind.__name__}, got {type(value).__name__} {value!r}"
        )
    return value


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _bounds(meta) -> str:
    low = f"[{_num(meta['ge'])}" if meta["ge"] is not None else f"({_num(meta['gt'])}"
    high = f"{_num(meta['le'])}]" if meta["le"] is not None else f"{_num(meta['lt'])})"
    return f"{low}, {high}"


def range_text(f: Field) -> str:
    """The allowed range of a number field in words, e.g. ``[1, 86400]``, ``(0, 1]`` or, with an
    ``off`` value, ``0 or [160, 7680]``."""
    meta = f.metadata
    off = f"{_num(meta['off'])} or " if meta["off"] is not None else ""
    return off + _bounds(meta)


def _range_error(f: Field, value: float) -> str | None:
    """Why ``value`` is outside ``f``'s range, or None."""
    meta = f.metadata
    if meta["off"] is not None and value == meta["off"]:
        return None
    if not math.isfinite(value):
        why = f"must be a finite number in {range_text(f)}"
    elif meta["ge"] is not None and value < meta["ge"]:
        why = f"must be >= {_num(meta['ge'])}"
    elif meta["gt"] is not None and value <= meta["gt"]:
        why = f"must be > {_num(meta['gt'])}"
    elif meta["le"] is not None and value > meta["le"]:
        why = f"must be <= {_num(meta['le'])}"
    elif meta["lt"] is not None and value >= meta["lt"]:
        why = f"must be < {_num(meta['lt'])}"
    else:
        return None
    if meta["off"] is not None and math.isfinite(value):
        why = f"must be {_num(meta['off'])} or in {_bounds(meta)}"
    return f"{why} ({meta['note']})" if meta["note"] else why


def check_fields(section: Any) -> None:
    """Raise ConfigError naming the first field of ``section`` outside its choices or range."""
    for f in fields(section):
        value = getattr(section, f.name)
        if value is None or "help" not in f.metadata:
            continue
        choices = f.metadata["choices"]
        if choices and value not in choices:
            raise bad(f.name, value, f"choose one of {', '.join(choices)}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            why = _range_error(f, value)
            if why:
                raise bad(f.name, value, why)


def check_ranges_declared(cls: type) -> list[str]:
    """Number fields of ``cls`` without both ends of a range (a test keeps this empty)."""
    missing = []
    for f in fields(cls):
        if "help" not in f.metadata or value_type(cls, f.name) not in (int, float):
            continue
        meta = f.metadata
        low = meta["ge"] is not None or meta["gt"] is not None
        high = meta["le"] is not None or meta["lt"] is not None
        if not (low and high):
            missing.append(f.name)
    return missing


def bad(key: str, value: Any, why: str) -> ConfigError:
    return ConfigError(f"{flag(key)} {value!r}: {why}")


def default_of(f: Field) -> Any:
    return f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]


def click_options(cls: type, names: list[str] | None = None, show_default: bool = True):
    """A decorator adding one flag per field of ``cls`` (or of ``names``), all defaulting to None
    (not given), so that a config file or the dataclass default fills what the user left out.

    The help shows the default, the choices and the range; a bool is a ``--x/--no-x`` switch.
    """
    import click

    chosen = [f for f in fields(cls) if "help" in f.metadata and (names is None or f.name in names)]

    def decorate(func):
        for f in reversed(chosen):
            option_flag = "--" + flag(f.name)
            kind, choices = value_type(cls, f.name), f.metadata["choices"]
            help_text = f.metadata["help"]
            number = kind in (int, float)
            if number:
                help_text += f" Range {range_text(f)}."
            default = default_of(f)
            if show_default and default is not None:
                shown = ("on" if default else "off") if kind is bool else default
                help_text += f" [{shown}]"
            if kind is bool:
                func = click.option(
                    f"{option_flag}/--no-{option_flag[2:]}", default=None, help=help_text
                )(func)
            else:
                kind = click.Choice(choices) if choices else kind
                func = click.option(option_flag, type=kind, default=None, help=help_text)(func)
        return func

    return decorate
