"""The run's configuration: typed sections composed, from defaults, a TOML file and flags.

Each subsystem states its own options beside it (:mod:`.capture.options`, :mod:`.faces.options`,
:mod:`.classify.options`, :mod:`.record.options`, :mod:`.fleet.options`) and validates them;
:class:`RunConfig` composes the sections and checks what spans two of them. Users see one flat
set of names: every option is a top-level TOML key (dashes or underscores; a section may also
be given as a table, ``[faces]``) and a ``fer-edge run`` flag; flags win over the file. Unknown
keys, duplicates and bad values raise :class:`ConfigError` naming them; relative paths in a file
are taken from the file's folder. Importing this module loads neither OpenCV nor numpy.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any

from .capture.options import CaptureOptions
from .classify.options import ClassifyOptions
from .contract.errors import ConfigError
from .faces.options import FacesOptions
from .fleet.options import FleetOptions
from .options import bad, coerce, flag, value_type
from .record.options import RecordOptions

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 (Jetson)
    import tomli as tomllib

#: The sections, in the order their options are listed (flags, check-config, default config).
SECTIONS: dict[str, type] = {
    "capture": CaptureOptions,
    "faces": FacesOptions,
    "classify": ClassifyOptions,
    "record": RecordOptions,
    "fleet": FleetOptions,
}


@dataclass(frozen=True)
class OptionSpec:
    """One user-facing option: its flat name, its section and its dataclass field."""

    name: str
    section: str
    field: Field
    kind: type

    @property
    def cls(self) -> type:
        return SECTIONS[self.section]


def _specs() -> dict[str, OptionSpec]:
    specs = {}
    for section, cls in SECTIONS.items():
        for f in fields(cls):
            if f.name in specs:
                raise AssertionError(f"option {f.name} is in two sections")
            specs[f.name] = OptionSpec(f.name, section, f, value_type(cls, f.name))
    return specs


#: Every option by its flat name.
OPTIONS: dict[str, OptionSpec] = _specs()
#: Flat attribute names (options and the sections' properties) -> their section.
_SECTION_OF: dict[str, str] = {
    **{
        name: section
        for section, cls in SECTIONS.items()
        for name, value in vars(cls).items()
        if isinstance(value, property)
    },
    **{name: spec.section for name, spec in OPTIONS.items()},
}


@dataclass
class RunConfig:
    """All options of ``fer-edge run`` (and ``bench``, ``doctor``, ``survey``), by section.

    ``config.window`` reads ``config.record.window``: every option and section property is
    reachable by its flat name, as users spell it.
    """

    capture: CaptureOptions = field(default_factory=CaptureOptions)
    faces: FacesOptions = field(default_factory=FacesOptions)
    classify: ClassifyOptions = field(default_factory=ClassifyOptions)
    record: RecordOptions = field(default_factory=RecordOptions)
    fleet: FleetOptions = field(default_factory=FleetOptions)

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> RunConfig:
        """A config from flat option names (unvalidated; see :func:`build_config`)."""
        by_section: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
        for key, value in options.items():
            if key not in OPTIONS:
                raise ConfigError(f"unknown option {key!r}{_did_you_mean(key)}")
            by_section[OPTIONS[key].section][key] = value
        return cls(**{name: SECTIONS[name](**values) for name, values in by_section.items()})

    def __getattr__(self, name: str) -> Any:
        section = _SECTION_OF.get(name)
        if section is None:
            raise AttributeError(f"{type(self).__name__} has no option {name!r}")
        return getattr(getattr(self, section), name)

    def validate(self) -> None:
        """Raise ConfigError naming the first bad option: each section, then across them."""
        for name in SECTIONS:
            getattr(self, name).validate()
        capture, faces = self.capture, self.faces
        if capture.max_fps and faces.detect_every / capture.max_fps > faces.track_max_age:
            gap = faces.detect_every / capture.max_fps
            raise bad(
                "detect_every",
                faces.detect_every,
                f"at max-fps {capture.max_fps:g} detections are {gap:g} s apart, longer than "
                f"track-max-age {faces.track_max_age:g} s: every track would be lost between "
                "detections",
            )

    def to_dict(self) -> dict[str, Any]:
        """Every option by its flat name, in section order."""
        return {name: getattr(self, name) for name in OPTIONS}


def option_type(name: str) -> type:
    """The value type of option ``name`` (``int`` for ``int | None``)."""
    return OPTIONS[name].kind


def _did_you_mean(key: str) -> str:
    close = difflib.get_close_matches(key.replace("-", "_"), list(OPTIONS), n=1, cutoff=0.6)
    return f"; did you mean {flag(close[0])!r}?" if close else ""


def _toml_error(path: Path, text: str, exc: Exception) -> ConfigError:
    """``PATH:LINE:COLUMN: invalid TOML: WHY`` (the end of the file when that is where it broke)."""
    message = str(exc)
    where = re.search(r"\(at line (\d+), column (\d+)\)", message)
    if where:
        line, column = where.groups()
        why = message[: where.start()].strip()
        return ConfigError(f"{path}:{line}:{column}: invalid TOML: {why}")
    if "end of document" in message:
        why = message.split("(at end of document)")[0].strip()
        return ConfigError(
            f"{path}:{text.count(chr(10)) or 1}: invalid TOML: {why} (at the end of the file)"
        )
    return ConfigError(f"{path}: invalid TOML: {message}")


def _resolve_path(spec: OptionSpec, value: Any, folder: Path) -> Any:
    """A relative file name from a config file, taken from the file's folder."""
    is_path = spec.field.metadata.get("path")
    if not is_path or not isinstance(value, str) or not value:
        return value
    if callable(is_path) and not is_path(value):
        return value
    expanded = os.path.expanduser(value)
    if os.path.isabs(expanded):
        return expanded
    return str((folder / expanded).absolute())


def load_toml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a TOML config file into flat option names (dashes -> underscores), typed.

    Refuses unknown keys (suggesting the nearest), one option given twice (``min_group`` and
    ``min-group``) and values of the wrong type; relative paths are resolved against the file's
    folder.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(path, text, exc) from None
    items: list[tuple[str, str, Any]] = []  # (key as written, option, value)
    for raw_key, value in data.items():
        if isinstance(value, dict) and raw_key in SECTIONS:
            for inner, inner_value in value.items():
                key = inner.replace("-", "_")
                if OPTIONS.get(key) is None or OPTIONS[key].section != raw_key:
                    raise ConfigError(
                        f"{path}: [{raw_key}] has no option {inner!r}{_did_you_mean(inner)}"
                    )
                items.append((f"{raw_key}.{inner}", key, inner_value))
        else:
            items.append((raw_key, raw_key.replace("-", "_"), value))
    options: dict[str, Any] = {}
    written: dict[str, str] = {}
    folder = path.parent
    for raw_key, key, value in items:
        if key not in OPTIONS:
            raise ConfigError(f"{path}: unknown key {raw_key!r}{_did_you_mean(raw_key)}")
        if key in written:
            raise ConfigError(
                f"{path}: {written[key]!r} and {raw_key!r} are the same option; keep one"
            )
        written[key] = raw_key
        spec = OPTIONS[key]
        options[key] = _resolve_path(spec, coerce(spec.kind, key, value, str(path)), folder)
    return options


def build_config(
    config_file: str | os.PathLike | None = None, overrides: dict[str, Any] | None = None
) -> RunConfig:
    """Defaults, then the TOML file, then ``overrides`` (None values are ignored); validated."""
    options: dict[str, Any] = {}
    if config_file:
        options.update(load_toml(config_file))
    for key, value in (overrides or {}).items():
        if key not in OPTIONS:
            raise ConfigError(f"unknown option {key!r}{_did_you_mean(key)}")
        if value is not None:
            options[key] = coerce(OPTIONS[key].kind, key, value, "command line")
    config = RunConfig.from_options(options)
    config.validate()
    return config


def validate(config: RunConfig) -> None:
    """Raise ConfigError naming the first bad option (see :meth:`RunConfig.validate`)."""
    config.validate()
