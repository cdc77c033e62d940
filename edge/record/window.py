"""The window record: the daemon's only output, one type from the aggregator to MQTT subscribers.

:class:`WindowRecord` is built by :mod:`.aggregate`, written by :mod:`.jsonl`, published by
:mod:`fer_edge.fleet` and read back by the report. :meth:`WindowRecord.to_dict` is the one
serialisation (``id`` first, times as ISO 8601 UTC); :meth:`WindowRecord.from_dict` the one
reader. :func:`json_schema` describes the serialised form; ``fer_edge/data/`` and ``docs/`` ship
it (``python -m fer_edge.record.window`` prints it; a test keeps both copies current).

Compatibility: within a major ``schema`` version fields are added, never renamed, retyped or
removed. A new field is optional: declare it with :func:`optional` (one line), and readers that
do not know it ignore it. A line without ``schema`` was written before the field existed and
reads as version 1; a field it lacks reads as empty (0, "", false, {}).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
import types
import typing
from dataclasses import dataclass, field

from .timeutil import iso, parse_iso

#: The major version: bumped only when a field is renamed, retyped or removed.
SCHEMA = 1
SCHEMA_FILE = "window-record.schema.json"


def required(doc: str, **meta):
    """A field every record of this major version carries."""
    return field(metadata={"doc": doc, **meta})


def optional(doc: str, default=None):
    """A field a record may lack: left out of the serialised form while None (or false)."""
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True, kw_only=True)
class Camera:
    """The camera over the window: ``ok``, or ``gaps`` (lost at least once)."""

    status: str = required(
        "ok, or gaps: the camera was lost during the window", enum=("ok", "gaps")
    )
    gaps: int = required("times the camera was lost")
    gap_seconds: float = required("seconds without a camera")


@dataclass(frozen=True, kw_only=True)
class WindowRecord:
    """Aggregates over one window; never a frame, a face or an identity."""

    schema: int = optional("major version of this format", SCHEMA)
    start: float = required("window start (epoch seconds; ISO 8601 UTC when serialised)", time=True)
    end: float = required("window end (epoch seconds; ISO 8601 UTC when serialised)", time=True)
    source: str = required("live camera or video file", enum=("live", "file"))
    frames_seen: int = required("frames the source delivered or skipped")
    frames_processed: int = required("frames that went through the face pipeline")
    frames_dropped: int = required("frames skipped (max-fps, or by the source)")
    face_observations: int = required("faces over all processed frames")
    faces_mean: float = required("face observations per processed frame")
    faces_max: int = required("most faces in one frame")
    tracks: int = required("distinct faces seen in at least two frames")
    faces_readable: int = required("face observations the quality gate passed")
    faces_unreadable: int = required("face observations the quality gate refused")
    unreadable: dict[str, int] = required("unreadable observations by reason")
    readable_tracks: int = required("distinct readable faces seen in at least two frames")
    min_group: int = required("readable tracks needed for class figures")
    suppressed: bool = required("fewer than min_group readable tracks: no class figures")
    counts: dict[str, int] | None = optional("readable observations by smoothed class")
    shares: dict[str, float] | None = optional(
        "estimated share of the room by class, from the readable tracks (see estimator)"
    )
    intervals: dict[str, list[float]] | None = optional(
        "90 % interval [low, high] of each class's share"
    )
    estimator: str | None = optional(
        "how the shares were estimated: cc, pcc, acc, pacc or bayes (fer_edge.classify.shares)"
    )
    estimator_note: str | None = optional(
        "why the estimator is not the one configured (no calibration, too few tracks)"
    )
    mean_confidence: float | None = optional("mean confidence of readable observations")
    camera: Camera = required("camera status over the window")
    model_sha256: str = required("sha256 of the model file that classified")
    prior_correction: bool = required("probabilities corrected to the training class prior")
    partial: bool = optional("the window was cut short (the run ended)", False)
    records_dropped: int = optional("records this run could not store so far (disk full)", 0)

    @property
    def id(self) -> str:
        """``START/END`` in ISO 8601: stable, so publishers and subscribers de-duplicate by it."""
        return f"{iso(self.start)}/{iso(self.end)}"

    def to_dict(self) -> dict:
        """The serialised form: ``id`` first, times as text, unset optional fields left out."""
        return {"id": self.id, **_encode(self)}

    def to_json(self) -> str:
        """One compact JSON line (no newline): what the log holds and MQTT carries."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict) -> WindowRecord:
        """A serialised record (a log line, an MQTT payload); ValueError if it is not one, or
        of another major version.

        Fields it does not know are ignored; fields it lacks read as empty (older lines).
        """
        if not isinstance(data, dict) or "start" not in data or "end" not in data:
            raise ValueError("not a window record (no start and end)")
        if data.get("schema", SCHEMA) != SCHEMA:
            raise ValueError(f"schema {data['schema']!r}: this fer-edge reads schema {SCHEMA}")
        return _decode(cls, data)


def _encode(obj) -> dict:
    out = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if value is None or (value is False and not _always_written(f.default)):
            continue
        if f.metadata.get("time"):
            value = iso(value)
        elif dataclasses.is_dataclass(value):
            value = _encode(value)
        out[f.name] = value
    return out


@functools.cache
def _hints(cls) -> dict:
    return typing.get_type_hints(cls)


def _decode(cls, data: dict):
    hints = _hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        kind = _unoptional(hints[f.name])
        if f.name not in data:
            if f.default is dataclasses.MISSING:
                values[f.name] = _empty(kind)
            continue
        value = data[f.name]
        try:
            if f.metadata.get("time"):
                value = parse_iso(_check(str, value))
            elif dataclasses.is_dataclass(kind):
                value = _decode(kind, _check(dict, value))
            elif value is not None or f.default is dataclasses.MISSING:
                value = _check(kind, value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{f.name}: {exc}") from None
        values[f.name] = value
    return cls(**values)


def _unoptional(kind):
    """``X | None`` -> X."""
    if isinstance(kind, types.UnionType):
        (kind,) = [k for k in typing.get_args(kind) if k is not type(None)]
    return kind


def _empty(kind):
    if dataclasses.is_dataclass(kind):
        return _decode(kind, {})
    return (typing.get_origin(kind) or kind)()


def _check(kind, value):
    """``value`` as ``kind`` (an int where a float goes becomes one, a list a tuple)."""
    origin, args = typing.get_origin(kind) or kind, typing.get_args(kind)
    if origin is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if origin is tuple and isinstance(value, list):
        value = tuple(value)
    if (origin is not bool and isinstance(value, bool)) or not isinstance(value, origin):
        raise TypeError(f"expected {_JSON_TYPES.get(origin, origin.__name__)}, got {value!r}")
    if not args:  # a bare type: checked above
        return value
    if origin is dict:
        return {k: _check(args[1], v) for k, v in value.items()}
    if origin is tuple:
        return tuple(_check(a, v) for a, v in zip(args, value, strict=True))
    return [_check(args[0], v) for v in value]


def json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of :meth:`WindowRecord.to_dict`."""
    schema = _object_schema(WindowRecord)
    schema["properties"] = {
        "id": {"type": "string", "description": "START/END, the record's stable id"},
        **schema["properties"],
    }
    schema["required"] = ["id", *schema["required"]]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"fer-edge window record, schema {SCHEMA}",
        "description": (
            "One window of aggregates. Within a major schema version fields are added, never "
            "renamed, retyped or removed: ignore properties you do not know."
        ),
        **schema,
    }


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def _object_schema(cls) -> dict:
    hints = _hints(cls)
    properties, needed = {}, []
    for f in dataclasses.fields(cls):
        prop = _type_schema(_unoptional(hints[f.name]))
        if f.metadata.get("time"):
            prop = {"type": "string", "format": "date-time"}
        if "enum" in f.metadata:
            prop["enum"] = list(f.metadata["enum"])
        if f.name == "schema":
            prop["const"] = SCHEMA
        properties[f.name] = {**prop, "description": f.metadata["doc"]}
        if f.default is dataclasses.MISSING or _always_written(f.default):
            needed.append(f.name)
    return {"type": "object", "properties": properties, "required": needed}


def _always_written(default) -> bool:
    """An optional field is left out only at None or false (see :func:`_encode`)."""
    return default is not None and default is not False


def _type_schema(kind) -> dict:
    if dataclasses.is_dataclass(kind):
        return _object_schema(kind)
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is dict:
        return {"type": "object", "additionalProperties": _type_schema(args[1])}
    if origin in (list, tuple):
        if origin is tuple and Ellipsis not in args:
            items = [_type_schema(a) for a in args]
            return {
                "type": "array",
                "prefixItems": items,
                "minItems": len(args),
                "maxItems": len(args),
            }
        return {"type": "array", "items": _type_schema(args[0])}
    return {"type": _JSON_TYPES[kind]}


def schema_text() -> str:
    """The schema file's text."""
    return json.dumps(json_schema(), indent=2) + "\n"


if __name__ == "__main__":
    sys.stdout.write(schema_text())
