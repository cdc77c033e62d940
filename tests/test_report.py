"""Reports (CSV, HTML) from the log."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from fer_edge.cli import main
from fer_edge.contract.labels import LABELS
from fer_edge.record.aggregate import WindowAggregator
from fer_edge.record.jsonl import JsonlLog, read_windows
from fer_edge.record.report import write_report
from helpers.fakes import SHA, T0, feed, record
from helpers.osfaults import tmpfs
from helpers.skips import needs


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
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text())))
    assert (rows[0]["suppressed"], rows[0]["partial"]) == ("False", "False")
    assert [rows[0][f"share_{label}"] for label in LABELS] == ["0.0"] * 3 + ["1.0"] + ["0.0"] * 3
    assert rows[1]["suppressed"] == "True"
    assert not any(v for k, v in rows[1].items() if k.startswith(("share_", "low_", "high_")))
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


# -- the charts' time axis ---------------------------------------------------------------------
def gap_log(log_dir):
    """1-min windows 08:00-08:20 UTC, nothing for 33 min, 08:53-09:10; 08:05 is suppressed."""
    starts = [T0 + 60 * i for i in range(20)] + [T0 + 60 * (53 + i) for i in range(17)]
    log = JsonlLog(log_dir)
    log.check_dir()
    for i, start in enumerate(starts):
        if i == 5:
            log.write(record(start, suppressed=True))
        else:
            shares = dict.fromkeys(LABELS, 0.0) | {"happy": 0.75, "neutral": 0.25}
            log.write(record(start, shares=shares))
    return log_dir


def rendered(tmp_path, tz):
    needs("matplotlib")
    from fer_edge.record.report import _rows, plot, resolve_tz

    rows = _rows(list(read_windows(gap_log(tmp_path / "logs"))))
    fig = plot(rows, resolve_tz(tz))
    fig.canvas.draw()
    return fig, fig.axes[0]


@pytest.mark.parametrize(
    ("tz", "first", "zone"),
    [("UTC", "08:00", "UTC"), ("Europe/Berlin", "09:00", "Europe/Berlin, UTC+01:00")],
)
def test_the_png_has_a_time_axis_in_its_zone_with_distinct_ticks(tmp_path, tz, first, zone):
    fig, ax = rendered(tmp_path, tz)
    import matplotlib.pyplot as plt

    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert len(labels) >= 4 and len(set(labels)) == len(labels)  # no tick repeats a minute
    assert all(re.fullmatch(r"\d\d:\d\d", label) for label in labels), labels
    assert labels[0] == first
    assert ax.xaxis.get_major_formatter().get_offset() == "2026-Jan-05"  # the date, once
    assert ax.get_title() == f"Class shares per window, 2026-01-05 ({zone})"
    assert ax.get_xlabel() == f"time ({zone})" and ax.get_ylabel()
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 > ax.get_window_extent().x1  # outside the bars
    plt.close(fig)


def test_the_png_shows_time_without_windows_as_a_gap(tmp_path):
    fig, ax = rendered(tmp_path, "UTC")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    lefts = sorted({round(p.get_x() * 1440) for p in ax.patches})  # minutes since 1970
    start = round(mdates.date2num(datetime.fromtimestamp(T0, timezone.utc)) * 1440)
    assert [m - start for m in lefts] == [*range(20), *range(53, 70)]  # one slot a minute
    widths = {round(p.get_width() * 1440, 6) for p in ax.patches}
    assert widths == {1.0}  # each bar spans its window
    hatched = [p for p in ax.patches if p.get_hatch()]
    assert [round(p.get_x() * 1440) - start for p in hatched] == [5]
    plt.close(fig)


def test_the_html_chart_has_a_time_axis_and_gaps(tmp_path):
    write_report(gap_log(tmp_path / "logs"), tmp_path / "r.html", "UTC")
    page = (tmp_path / "r.html").read_text()
    ticks = re.findall(r'text-anchor="middle">(\d\d:\d\d)</text>', page)
    assert ticks == ["08:00", "08:10", "08:20", "08:30", "08:40", "08:50", "09:00", "09:10"]
    assert "Class shares per window, 2026-01-05 (UTC)" in page and "time\n(UTC)" in page
    xs = sorted({float(x) for x in re.findall(r'<rect x="([\d.]+)"', page)})
    per_minute = (xs[-1] - xs[0]) / 69
    assert xs[20] - xs[19] == pytest.approx(34 * per_minute, rel=1e-3)  # 08:19 to 08:53


def test_an_unknown_time_zone_is_one_line_exit_78(tmp_path):
    gap_log(tmp_path / "logs")
    for zone in ("Mars/Base", "../../etc/passwd"):
        args = ["report", "--log-dir", str(tmp_path / "logs"), "--out", str(tmp_path / "r.html")]
        result = CliRunner().invoke(main, [*args, "--tz", zone])
        assert result.exit_code == 78 and "unknown time zone" in one_error_line(result)
    assert not (tmp_path / "r.html").exists()


# -- intervals -----------------------------------------------------------------------------------
def interval_log(log_dir):
    """Three 1-min windows with shares and 90 % intervals, as the daemon writes them."""
    log = JsonlLog(log_dir)
    log.check_dir()
    for i in range(3):
        shares = dict.fromkeys(LABELS, 0.0) | {"happy": 0.3, "neutral": 0.7}
        intervals = {k: [max(0.0, v - 0.1), min(1.0, v + 0.1 + i / 10)] for k, v in shares.items()}
        log.write(record(T0 + 60 * i, shares=shares, intervals=intervals, estimator="pacc"))
    return log_dir


def test_the_reports_carry_the_intervals(tmp_path):
    logs = interval_log(tmp_path / "logs")
    write_report(logs, tmp_path / "r.csv")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text())))
    assert rows[2]["estimator"] == "pacc"
    assert (float(rows[2]["low_neutral"]), float(rows[2]["high_neutral"])) == (0.6, 1.0)
    write_report(logs, tmp_path / "r.html", "UTC")
    assert "neutral: 70.0% (60–90%, 90 % interval)" in (tmp_path / "r.html").read_text()


def test_the_png_draws_each_class_with_its_interval_band(tmp_path):
    needs("matplotlib")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    from fer_edge.record.report import _rows, plot, resolve_tz

    fig = plot(_rows(list(read_windows(interval_log(tmp_path / "logs")))), resolve_tz("UTC"))
    bars, band = fig.axes[:2]
    bands = [c for c in band.collections if isinstance(c, PolyCollection)]
    assert len(bands) == len(LABELS) and len(band.lines) == len(LABELS)
    neutral = band.lines[LABELS.index("neutral")].get_ydata()
    assert list(neutral) == pytest.approx([0.7] * 3)
    top = max(bands[LABELS.index("neutral")].get_paths()[0].vertices[:, 1])
    assert top == pytest.approx(1.0)
    assert bars.get_ylabel() == "estimated share of faces" and "90 %" in band.get_ylabel()
    plt.close(fig)
