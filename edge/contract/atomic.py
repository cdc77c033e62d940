"""Write files so that a failure never leaves a half-written one: temp file, fsync, rename."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    The temp file keeps ``path``'s suffix (or ``suffix``) so writers that pick a format by
    extension work. On any exception the temp file is removed and ``path`` is untouched. A
    folder that takes no file raises :class:`OutputError` (one line, exit 73).
    """
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=suffix or target.suffix or ".tmp", dir=target.parent
        )
    except OSError as exc:
        reason = why_not_writable(target.parent, exc)
        raise OutputError(f"{target}: cannot create it: {reason}") from None
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def why_not_writable(folder: str | os.PathLike, exc: OSError) -> str:
    """Why no file could be created in ``folder``, in words (``exc``: the failed attempt).

    The system's own words, except where they mislead: "No such file or directory" for a
    missing folder, or for one that exists but takes no files (/proc, /sys).
    """
    folder = Path(folder)
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        if folder.exists() and not folder.is_dir():
            return f"{folder} is not a folder"
        if not folder.exists():
            return f"folder {folder} does not exist"
        if exc.errno == errno.ENOENT:
            return f"{folder} takes no new files (a kernel file system such as /proc or /sys?)"
    return exc.strerror or str(exc)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))
