"""UTC timestamps: seconds since the epoch <-> ISO 8601 strings."""

from __future__ import annotations

from datetime import datetime, timezone


def iso(ts: float) -> str:
    """``ts`` (epoch seconds) as ISO 8601 UTC with milliseconds, e.g. 2026-01-05T08:00:00.000Z."""
    stamp = datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def parse_iso(text: str) -> float:
    """An ISO 8601 time (naive means UTC) as epoch seconds; ValueError if malformed."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def utc_day(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d")
