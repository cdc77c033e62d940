"""Reports (CSV, HTML) from the log."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from fakes import SHA, T0, feed
from osfaults import tmpfs

from fer_edge.cli import main
from fer_edge.contract.labels import LABELS
from fer_edge.record.aggregate import WindowAggregator
from fer_edge.record.jsonl import JsonlLog
from fer_edge.record.report import write_report


def write_log(log_dir, starts=(T0, T0 + 10), groups=(6, 2)) -> JsonlLog:
    """A log of 10 s windows starting at ``starts``; each sees that many distinct faces."""
    log = JsonlLog(log_dir)
    log.check_dir()
    for start, group in zip(starts, groups, strict=True):
        agg = WindowAggregator(10, 5, LABELS, SHA, origin=start)
        records = []
        for i in range(10):
            records += feed(agg, start + i, range(group))
        for r in records + agg.advance(start + 10):
            log.write(r)
    return log


def test_report_csv_html_show_suppressed_windows_as_gaps(tmp_path):
    write_log(tmp_path / "logs")
    assert write_report(tmp_path / "logs", tmp_path / "r.csv") == 2
    rows = (tmp_path / "r.csv").read_text().splitlines()
    assert rows[1].split(",")[2:4] == ["False", "False"] and rows[1].endswith(
        ",0.0,1.0,0.0,0.0,0.0"
    )
    assert rows[2].split(",")[2] == "True" and rows[2].endswith(",,,,,,,")
    write_report(tmp_path / "logs", tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert "suppressed" in page and "happy: 100.0%" in page
    result = CliRunner().invoke(main, ["report", "--log-dir", str(tmp_path), "--out", "x.txt"])
    assert result.exit_code != 0


def report_cli(log_dir, out):
    return CliRunner().invoke(main, ["report", "--log-dir", str(log_dir), "--out", str(out)])


def one_error_line(result) -> str:
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fer-edge: error:"), result.output
    return lines[0]


@pytest.mark.parametrize("suffix", [".png", ".csv", ".html"])
def test_a_report_into_a_missing_folder_is_one_line_exit_73(tmp_path, suffix):
    write_log(tmp_path / "logs")
    out = tmp_path / "missing" / f"x{suffix}"
    result = report_cli(tmp_path / "logs", out)
    assert result.exit_code == 73  # EX_CANTCREAT
    line = one_error_line(result)
    assert f"{out}: cannot create it: folder {out.parent} does not exist" in line
    (tmp_path / "file").write_text("x")
    result = report_cli(tmp_path / "logs", tmp_path / "file" / f"x{suffix}")
    assert result.exit_code == 73 and f"{tmp_path / 'file'} is not a folder" in one_error_line(
        result
    )


def test_a_report_into_a_read_only_folder_is_one_line_exit_73(tmp_path):
    write_log(tmp_path / "logs")
    with tmpfs(tmp_path / "ro", "ro", "size=1m") as folder:
        result = report_cli(tmp_path / "logs", folder / "x.csv")
        assert result.exit_code == 73
        assert "cannot create it: Read-only file system" in one_error_line(result)
        assert list(folder.iterdir()) == []
