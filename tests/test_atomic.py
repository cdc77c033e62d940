"""Atomic writes: temp file, fsync, rename."""

from __future__ import annotations

import pytest


def test_atomic_write_replaces_whole_file_with_umask_permissions(tmp_path):
    import os

    from fer_edge.contract import atomic

    target = tmp_path / "card.json"
    target.write_text("old")
    old_mask = os.umask(0o022)
    try:
        atomic.write_text(target, "new")
    finally:
        os.umask(old_mask)
    assert target.read_text() == "new" and (target.stat().st_mode & 0o777) == 0o644
    with pytest.raises(RuntimeError), atomic.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == [
        "card.json"
    ]
