"""The outbox: window records the broker has not acknowledged yet, read from the JSONL log.

The log is the source of truth. A record is published only once it is in the log, in log
order, and the cursor (``.publish-cursor.json`` in the log folder, written atomically) moves
past a record only when the broker has acknowledged it. So after a broker outage or a restart
every record not yet acknowledged is sent again, in order, and none that was.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from ..contract import atomic
from ..record.jsonl import PREFIX, SUFFIX
from ..record.window import WindowRecord

log = logging.getLogger(__name__)

CURSOR = ".publish-cursor.json"


@dataclass(frozen=True)
class Entry:
    """One logged record, its line as the log holds it, and where it ends (the cursor after it)."""

    record: WindowRecord
    line: str
    file: str
    offset: int


class Outbox:
    """Pending records of ``log_dir``, oldest first, at most ``limit`` (older ones skipped)."""

    def __init__(self, log_dir: str | os.PathLike, limit: int = 10000) -> None:
        self.log_dir, self.limit = Path(log_dir), int(limit)
        self.cursor_path = self.log_dir / CURSOR
        self.skipped = 0
        self._cursor = self._read_cursor()

    def _read_cursor(self) -> dict:
        try:
            data = json.loads(self.cursor_path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and {"file", "offset"} <= data.keys():
                return data
            log.warning("%s: not a cursor; publishing the whole log again", self.cursor_path)
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            log.warning(
                "%s: unreadable (%s); publishing the whole log again", self.cursor_path, exc
            )
        return {"file": "", "offset": 0, "id": None}

    def pending(self) -> list[Entry]:
        """Every complete, well-formed record after the cursor, in log order (bounded)."""
        entries: list[Entry] = []
        for path in sorted(self.log_dir.glob(f"{PREFIX}*{SUFFIX}")):
            if path.name < self._cursor["file"]:
                continue
            start = self._cursor["offset"] if path.name == self._cursor["file"] else 0
            entries.extend(_read_from(path, start))
        if len(entries) > self.limit:
            dropped = len(entries) - self.limit
            self.skipped += dropped
            log.warning(
                "publish backlog of %d records exceeds the limit of %d: the %d oldest stay in "
                "the local log only",
                len(entries),
                self.limit,
                dropped,
            )
            self.acknowledge(entries[dropped - 1])
            entries = entries[dropped:]
        return entries

    def acknowledge(self, entry: Entry) -> None:
        """The broker has ``entry``: move the cursor past it (atomically)."""
        self._cursor = {"file": entry.file, "offset": entry.offset, "id": entry.record.id}
        atomic.write_text(self.cursor_path, json.dumps(self._cursor) + "\n")


def _read_from(path: Path, offset: int) -> list[Entry]:
    """Records of ``path`` from byte ``offset``; a last line without its newline is not read."""
    entries = []
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            for line in fh:
                if not line.endswith(b"\n"):
                    break  # being written: read it next time
                offset += len(line)
                try:
                    record = WindowRecord.from_dict(json.loads(line))
                except ValueError:
                    continue  # a torn line the log terminated after a crash, not a record
                entries.append(Entry(record, line.decode().rstrip("\n"), path.name, offset))
    except OSError as exc:
        log.warning("%s: cannot read for publishing (%s)", path, exc.strerror or exc)
    return entries
