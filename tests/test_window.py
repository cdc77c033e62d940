"""The window record: one type, one serialisation, a published schema that real output meets."""

from __future__ import annotations

import dataclasses
import json
import logging
from importlib import resources

import pytest

from fer_edge.assemble import build_pipeline
from fer_edge.daemon import Daemon
from fer_edge.record.jsonl import JsonlLog, log_path, read_records, read_windows
from fer_edge.record.report import write_report
from fer_edge.record.timeutil import parse_iso
from fer_edge.record.window import (
    SCHEMA,
    SCHEMA_FILE,
    WindowRecord,
    _object_schema,
    json_schema,
    optional,
    schema_text,
)
from helpers import REPO
from helpers.clips import write_face_clip
from helpers.fakes import NO_GATE, T0, FakeClassifier, clip_config, record

#: A line as the log held it before records had a ``schema`` (and before the quality gate).
OLD_LINE = (
    '{"id":"2026-01-05T08:00:00.000Z/2026-01-05T08:01:00.000Z","start":"2026-01-05T08:00:00.000Z",'
    '"end":"2026-01-05T08:01:00.000Z","source":"live","frames_seen":60,"frames_processed":60,'
    '"frames_dropped":0,"face_observations":300,"faces_mean":5.0,"faces_max":5,"tracks":5,'
    '"min_group":5,"suppressed":false,"counts":{"happy":300},"shares":{"happy":1.0},'
    '"mean_confidence":0.8,"camera":{"status":"ok","gaps":0,"gap_seconds":0.0},'
    '"model_sha256":"abab","prior_correction":true,"records_dropped":0}'
)


def check(instance, schema: dict, where: str = "record") -> None:
    """Validate against the subset of JSON Schema that :func:`json_schema` uses."""
    kinds = {"object": dict, "array": list, "string": str, "boolean": bool}
    kind = schema.get("type")
    if kind in ("integer", "number"):
        ok = isinstance(instance, int if kind == "integer" else (int, float))
        assert ok and not isinstance(instance, bool), f"{where}: {instance!r} is not {kind}"
    elif kind:
        assert isinstance(instance, kinds[kind]), f"{where}: {instance!r} is not {kind}"
    if "const" in schema:
        assert instance == schema["const"], where
    if "enum" in schema:
        assert instance in schema["enum"], f"{where}: {instance!r} not in {schema['enum']}"
    if schema.get("format") == "date-time":
        parse_iso(instance)
    for name in schema.get("required", ()):
        assert name in instance, f"{where}: {name} missing"
    for name, value in instance.items() if kind == "object" else ():
        sub = schema.get("properties", {}).get(name, schema.get("additionalProperties", {}))
        check(value, sub, f"{where}.{name}")


@pytest.fixture(scope="module")
def daemon_lines(tmp_path_factory, head_bgr, yunet_model) -> list[dict]:
    """The JSON lines a real daemon run wrote over a generated clip: readable, suppressed and
    partial windows."""
    folder = tmp_path_factory.mktemp("window")
    clip = write_face_clip(folder / "faces.avi", head_bgr, 25)
    for name, options in (("shown", {"window": 2.0, **NO_GATE}), ("suppressed", {})):
        config = clip_config(clip, yunet_model, folder / name, **options)
        Daemon(build_pipeline(config, classifier=FakeClassifier())).run()
    lines = []
    for path in sorted(folder.glob("*/fer-edge-*.jsonl")):
        lines += [json.loads(line) for line in path.read_text().splitlines()]
    return lines


def test_real_daemon_output_meets_the_published_schema(daemon_lines):
    schema = json_schema()
    assert {r["suppressed"] for r in daemon_lines} == {True, False}
    assert any(r.get("partial") for r in daemon_lines)
    for line in daemon_lines:
        check(line, schema)
        assert line.keys() <= schema["properties"].keys()  # every field is declared
        assert line["schema"] == SCHEMA
        assert WindowRecord.from_dict(line).to_dict() == line  # one serialisation, both ways


def test_the_shipped_schema_files_are_the_generated_schema():
    packaged = resources.files("fer_edge").joinpath("data", SCHEMA_FILE).read_text()
    assert packaged == schema_text()
    assert (REPO / "docs" / SCHEMA_FILE).read_text() == schema_text()


def test_old_lines_without_schema_are_read_and_reported(tmp_path):
    log_path(tmp_path, "2026-01-05").write_text(OLD_LINE + "\n")
    (old,) = read_windows(tmp_path)
    assert old.schema == SCHEMA and old.start == T0 and old.shares == {"happy": 1.0}
    assert (old.faces_readable, old.unreadable, old.partial) == (0, {}, False)  # not recorded
    assert old.id == json.loads(OLD_LINE)["id"]
    assert write_report(tmp_path, tmp_path / "r.csv") == 1
    assert (tmp_path / "r.csv").read_text().splitlines()[1].endswith(",,,,1.0,,,")


def test_unknown_fields_are_ignored_and_wrong_ones_refused(tmp_path, caplog):
    line = {**record().to_dict(), "added_later": [1, 2]}
    assert WindowRecord.from_dict(line) == record()
    with pytest.raises(ValueError, match="tracks: expected integer"):
        WindowRecord.from_dict({**line, "tracks": "six"})
    with pytest.raises(ValueError, match="start"):
        WindowRecord.from_dict({**line, "start": 3})
    with pytest.raises(ValueError, match="not a window record"):
        WindowRecord.from_dict({"id": "x"})
    with pytest.raises(ValueError, match="schema 2: this fer-edge reads schema 1"):
        WindowRecord.from_dict({**line, "schema": 2})
    log = JsonlLog(tmp_path)
    assert log.write(record()) and log.write(record(T0 + 60))
    with open(log_path(tmp_path, "2026-01-05"), "a") as fh:
        fh.write(json.dumps({**line, "suppressed": "no"}) + "\n")
    with caplog.at_level(logging.WARNING):
        assert list(read_windows(tmp_path)) == [record(), record(T0 + 60)]
    assert ":3: skipping a line that is not a window record (suppressed:" in caplog.text
    assert len(list(read_records(tmp_path))) == 3  # the raw reader still sees every line


def test_an_optional_field_is_one_line_and_left_out_until_set():
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Extended(WindowRecord):
        intervals: dict[str, tuple[float, float]] | None = optional("90 % interval by class")

    plain = Extended(**{f.name: getattr(record(), f.name) for f in dataclasses.fields(record())})
    assert plain.to_dict() == record().to_dict()  # unset: not written
    shown = dataclasses.replace(plain, intervals={"happy": (0.8, 1.0)})
    assert shown.to_dict()["intervals"] == {"happy": (0.8, 1.0)}
    assert Extended.from_dict(json.loads(shown.to_json())) == shown  # lists come back as tuples
    schema = _object_schema(Extended)
    assert "intervals" not in schema["required"]
    assert schema["properties"]["intervals"]["additionalProperties"]["prefixItems"] == [
        {"type": "number"},
        {"type": "number"},
    ]
