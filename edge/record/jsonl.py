"""The JSON Lines log: one record a line, one file per UTC day, fsynced, pruned by age and space.

Each line is :meth:`WindowRecord.to_json <.window.WindowRecord.to_json>`: the record's stable
``id`` (``START/END``) first, times in ISO 8601 UTC. The file is the day of the record's start.

A torn last line left by a crash is terminated with a newline before appending (readers skip
lines that are not JSON). A failed write (ENOSPC, EIO, ...) drops the record and counts it, and
cuts the file back to its last whole line; the daemon keeps running. A folder that cannot take a
record at start (missing permission, read-only, full, not a folder) is a :class:`ConfigError`.

One daemon writes a folder: :meth:`JsonlLog.lock` takes an exclusive lock on its
``.fer-edge.lock`` (holding the writer's pid) until :meth:`JsonlLog.close`, which removes it; a
second writer gets :class:`LogDirBusy` naming the first one's pid.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from ..contract.atomic import why_not_writable
from ..contract.errors import ConfigError, LogDirBusy
from .timeutil import utc_day
from .window import WindowRecord

log = logging.getLogger(__name__)

PREFIX, SUFFIX = "fer-edge-", ".jsonl"
LOCK = ".fer-edge.lock"


def log_path(log_dir: str | os.PathLike, day: str) -> Path:
    return Path(log_dir) / f"{PREFIX}{day}{SUFFIX}"


class JsonlLog:
    """Appends window records to ``fer-edge-YYYY-MM-DD.jsonl`` files in ``log_dir``."""

    def __init__(
        self, log_dir: str | os.PathLike, keep_days: int = 90, min_free_mb: int = 50
    ) -> None:
        self.log_dir = Path(log_dir)
        self.keep_days, self.min_free_mb = keep_days, min_free_mb
        self.written = 0
        self.dropped = 0
        self.last_error: str | None = None
        self._checked: set[Path] = set()
        self._lock_file: io.BufferedRandom | None = None

    def prepare(self) -> None:
        """Create the folder, prune old logs and prove a record can be written there.

        Raises :class:`ConfigError` naming the folder and the problem otherwise.
        """
        self.check_dir(prune=True)

    def lock(self) -> None:
        """Be the folder's only writer until :meth:`close`: :class:`LogDirBusy` names the pid
        of the process that already is. (Held by a file object: released if it is collected.)
        """
        where, path = f"log dir {self.log_dir}", self.log_dir / LOCK
        while self._lock_file is None:
            try:
                lock_file = open(path, "a+b")  # held until close()
            except OSError as exc:
                raise ConfigError(
                    f"{where}: cannot create {LOCK} ({exc.strerror or exc})"
                ) from None
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                lock_file.seek(0)
                holder = lock_file.read(32).decode("ascii", "replace").strip()
                lock_file.close()
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    log.warning("%s: cannot lock (%s); run one daemon per folder", where, exc)
                    return  # a file system without locks (some NFS): run, but say so
                raise LogDirBusy(
                    f"{where}: another fer-edge daemon writes there (pid "
                    f"{holder if holder.isdigit() else 'unknown'}); stop it first or give this "
                    "one another --log-dir"
                ) from None
            if _same_file(lock_file, path):  # not removed by a writer that just closed
                lock_file.truncate(0)
                lock_file.write(f"{os.getpid()}\n".encode())
                lock_file.flush()
                self._lock_file = lock_file
            else:
                lock_file.close()

    def close(self) -> None:
        """Release and remove the folder's lock (see :meth:`lock`); writing still works."""
        if self._lock_file is not None:
            with contextlib.suppress(FileNotFoundError):
                (self.log_dir / LOCK).unlink()  # while held: a waiting opener sees it is gone
            self._lock_file.close()
            self._lock_file = None

    def check_dir(self, prune: bool = False) -> None:
        """Create the folder if needed and write, fsync and remove a probe file in it.

        ``prune`` applies retention before the probe (a full disk may have room after it).
        Raises :class:`ConfigError` ("log dir PATH: ...") when a record could not be stored.
        """
        where = f"log dir {self.log_dir}"
        if self.log_dir.exists() and not self.log_dir.is_dir():
            raise ConfigError(f"{where}: is a file, not a folder")
        try:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = why_not_writable(_nearest_existing(self.log_dir), exc)
            raise ConfigError(f"{where}: cannot create it ({reason})") from None
        try:
            if prune:
                self.prune()
            fd, probe = tempfile.mkstemp(prefix=".fer-edge-probe-", dir=self.log_dir)
            try:
                _write_all(fd, b"{}\n")
                os.fsync(fd)
            finally:
                os.close(fd)
                os.unlink(probe)
        except OSError as exc:
            reason = why_not_writable(self.log_dir, exc)
            raise ConfigError(f"{where}: not writable ({reason})") from None

    def write(self, record: WindowRecord) -> bool:
        """Append ``record`` durably, in the file of its start's day.

        False (and counted) when the write failed.
        """
        path = log_path(self.log_dir, utc_day(record.start))
        line = (record.to_json() + "\n").encode()
        if path not in self._checked and self._checked:
            self.prune()  # a new day: apply retention again
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                if path not in self._checked:
                    self._terminate_torn_line(fd, path)
                    self._checked.add(path)
                size = os.fstat(fd).st_size
                try:
                    _write_all(fd, line)
                    os.fsync(fd)
                except OSError:
                    _cut_back(fd, size, path)
                    raise
            finally:
                os.close(fd)
        except OSError as exc:
            self.dropped += 1
            message = f"{path}: {exc.strerror or exc}"
            if message != self.last_error:
                log.error("log record dropped (%s); the daemon keeps running", message)
            self.last_error = message
            return False
        if self.last_error:
            log.warning("log writes work again (%d records dropped so far)", self.dropped)
            self.last_error = None
        self.written += 1
        return True

    @staticmethod
    def _terminate_torn_line(fd: int, path: Path) -> None:
        size = os.fstat(fd).st_size
        if size == 0 or not path.is_file():
            return
        with open(path, "rb") as fh:
            fh.seek(size - 1)
            if fh.read(1) != b"\n":
                log.warning("%s: last line was torn (crash?); terminating it", path)
                _write_all(fd, b"\n")

    def prune(self, now: float | None = None) -> list[Path]:
        """Delete logs older than ``keep_days``, then the oldest while free space is short."""
        now = time.time() if now is None else now
        files = sorted(self.log_dir.glob(f"{PREFIX}*{SUFFIX}"))
        removed = []
        for path in files:
            try:
                if now - path.stat().st_mtime > self.keep_days * 86400:
                    path.unlink()
                    removed.append(path)
            except OSError as exc:
                log.warning("%s: cannot prune (%s)", path, exc)
        files = [p for p in files if p not in removed]
        while len(files) > 1 and self._free_mb() < self.min_free_mb:
            oldest = files.pop(0)
            try:
                oldest.unlink()
                removed.append(oldest)
            except OSError as exc:
                log.warning("%s: cannot prune (%s)", oldest, exc)
                break
        for path in removed:
            log.info("pruned %s", path)
        return removed

    def _free_mb(self) -> float:
        try:
            return shutil.disk_usage(self.log_dir).free / 1e6
        except OSError:
            return float("inf")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _same_file(opened: io.BufferedRandom, path: Path) -> bool:
    """Whether ``path`` still names the file ``opened`` is."""
    try:
        return os.path.samestat(os.fstat(opened.fileno()), os.stat(path))
    except FileNotFoundError:
        return False


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return path


def _cut_back(fd: int, size: int, path: Path) -> None:
    """Remove a partly written line (a disk that filled mid-record), so no torn line remains."""
    try:
        if os.fstat(fd).st_size > size:
            os.ftruncate(fd, size)
    except OSError as exc:
        log.warning("%s: cannot remove a partly written record (%s)", path, exc)


def read_windows(log_dir: str | os.PathLike) -> Iterator[WindowRecord]:
    """Every window record in ``log_dir``'s logs, typed, oldest file first; bad lines skipped."""
    for path, number, data in _lines(log_dir):
        try:
            record = WindowRecord.from_dict(data)
        except ValueError as exc:
            log.warning(
                "%s:%d: skipping a line that is not a window record (%s)", path, number, exc
            )
            continue
        yield record


def read_records(log_dir: str | os.PathLike) -> Iterator[dict]:
    """Every record in ``log_dir``'s logs as the log holds it (JSON objects with a ``start``)."""
    for _, _, data in _lines(log_dir):
        yield data


def _lines(log_dir: str | os.PathLike) -> Iterator[tuple[Path, int, dict]]:
    """(file, line number, object) of each JSON object with a ``start``; bad lines skipped."""
    for path in sorted(Path(log_dir).glob(f"{PREFIX}*{SUFFIX}")):
        with open(path, encoding="utf-8", errors="replace") as fh:
            for number, line in enumerate(fh, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    log.warning("%s:%d: skipping a malformed line", path, number)
                    continue
                if isinstance(record, dict) and "start" in record:
                    yield path, number, record
