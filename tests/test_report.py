"""Reports (CSV, HTML) from the log."""

from __future__ import annotations

from click.testing import CliRunner
from fakes import SHA, T0, feed

from fer_edge.cli import main
from fer_edge.contract.labels import LABELS
from fer_edge.record.aggregate import WindowAggregator
from fer_edge.record.jsonl import JsonlLog
from fer_edge.record.report import write_report


def test_report_csv_html_show_suppressed_windows_as_gaps(tmp_path):
    agg = WindowAggregator(10, 5, LABELS, SHA, origin=T0)
    out = []
    for i in range(10):
        out += feed(agg, T0 + i, range(6))
    for i in range(10, 20):
        out += feed(agg, T0 + i, range(2))
    out += agg.advance(T0 + 20)
    log = JsonlLog(tmp_path / "logs")
    log.prepare()
    for r in out:
        log.write(r)
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
