"""The JSON Lines log: torn lines, day files, a full disk (also mid-record), pruning."""

from __future__ import annotations

import errno
import os

import pytest

from fer_edge.contract.errors import LogDirBusy
from fer_edge.record import jsonl
from fer_edge.record.jsonl import JsonlLog, log_path, read_records, read_windows
from fer_edge.record.timeutil import iso, parse_iso
from helpers.fakes import T0, record


def test_log_torn_line_is_terminated_and_skipped(tmp_path):
    path = log_path(tmp_path, "2026-01-05")
    path.write_text('{"start":"2026-01-05T07:00:00.000Z"}\n{"start":"2026-01-05T07:0')
    log = JsonlLog(tmp_path)
    assert log.write(record()) and log.write(record(T0 + 60))
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and lines[1].endswith(":0")
    assert [r["start"] for r in read_records(tmp_path)] == [
        "2026-01-05T07:00:00.000Z",
        iso(T0),
        iso(T0 + 60),
    ]


def test_log_one_file_per_utc_day(tmp_path):
    log = JsonlLog(tmp_path)
    log.write(record(T0))
    log.write(record(T0 + 86400))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "fer-edge-2026-01-05.jsonl",
        "fer-edge-2026-01-06.jsonl",
    ]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_full_disk_drops_and_counts_records(tmp_path):
    log_path(tmp_path, "2026-01-05").symlink_to("/dev/full")
    log = JsonlLog(tmp_path)
    assert not log.write(record()) and not log.write(record())
    assert log.dropped == 2 and "No space left" in log.last_error
    assert log.write(record(T0 + 86400)) and log.written == 1  # another day's file works


def test_prune_by_age(tmp_path):
    old, new = log_path(tmp_path, "2025-01-01"), log_path(tmp_path, "2026-01-05")
    old.write_text("{}\n")
    new.write_text("{}\n")
    os.utime(old, (T0 - 100 * 86400, T0 - 100 * 86400))
    os.utime(new, (T0, T0))
    assert JsonlLog(tmp_path, keep_days=30).prune(now=T0 + 60) == [old]
    assert new.exists()


def test_the_log_formats_times_and_the_id_once_in_the_start_days_file(tmp_path):
    log = JsonlLog(tmp_path)
    late = parse_iso("2026-01-05T23:59:30Z")
    window = record(late, end=late + 60.5)
    assert log.write(window)
    assert (
        log_path(tmp_path, "2026-01-05")
        .read_bytes()
        .startswith(
            b'{"id":"2026-01-05T23:59:30.000Z/2026-01-06T00:00:30.500Z","schema":1,'
            b'"start":"2026-01-05T23:59:30.000Z","end":"2026-01-06T00:00:30.500Z","source":"file",'
        )
    )
    assert list(read_windows(tmp_path)) == [window]  # read back as the same record


def test_a_record_cut_short_by_a_full_disk_leaves_no_torn_line(tmp_path, monkeypatch):
    log = JsonlLog(tmp_path)
    assert log.write(record())
    before = log_path(tmp_path, "2026-01-05").read_bytes()
    real = jsonl._write_all

    def half_then_full(fd, data):
        real(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(jsonl, "_write_all", half_then_full)
    assert not log.write(record()) and log.dropped == 1
    assert log_path(tmp_path, "2026-01-05").read_bytes() == before
    monkeypatch.setattr(jsonl, "_write_all", real)
    assert log.write(record())
    assert len(list(read_records(tmp_path))) == 2
    assert all(
        line.startswith(b"{")
        for line in log_path(tmp_path, "2026-01-05").read_bytes().split(b"\n")[:-1]
    )


def test_two_logs_on_one_folder_in_one_process_conflict_until_the_first_closes(tmp_path):
    first, second = JsonlLog(tmp_path), JsonlLog(tmp_path)
    first.lock()
    with pytest.raises(LogDirBusy, match=rf"\(pid {os.getpid()}\)"):
        second.lock()
    first.close()
    second.lock()
    with pytest.raises(LogDirBusy):
        JsonlLog(tmp_path).lock()
    second.close()
    assert list(tmp_path.iterdir()) == []
