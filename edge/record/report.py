"""``fer-edge report``: a timeline of class shares per window (CSV, HTML or PNG).

Suppressed windows (fewer than ``min_group`` distinct faces) carry no class figures and are
shown hatched; time without any window (the daemon not running) is an empty gap. Both charts
have a real time axis in one time zone (the machine's unless told). Only the aggregate logs are
read; there is nothing else to read.

The PNG is drawn in layers, each a function of ``(ax, windows)``: :func:`draw_shares`,
:func:`draw_suppressed` and, in a second panel, :func:`draw_intervals` (each class's share with
its 90 % interval, where the records carry intervals).
"""

from __future__ import annotations

import csv
import html
import io
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path

from ..contract import atomic
from ..contract.errors import ConfigError, FerError
from ..contract.labels import LABELS
from .jsonl import read_windows
from .timeutil import iso, parse_iso
from .window import WindowRecord

COLOURS = ("#d62728", "#8c564b", "#9467bd", "#2ca02c", "#7f7f7f", "#1f77b4", "#ff7f0e")
SUPPRESSED = "suppressed (fewer than min-group faces)"


def _rows(records: list[WindowRecord]) -> list[dict]:
    rows = []
    for r in records:
        shares = r.shares if not r.suppressed else None
        intervals = (r.intervals or {}) if shares else {}
        rows.append(
            {
                "start": iso(r.start),
                "end": iso(r.end),
                "suppressed": r.suppressed,
                "partial": r.partial,
                "tracks": r.tracks,
                "face_observations": r.face_observations,
                "camera": r.camera.status,
                "estimator": (r.estimator or "") if shares else "",
                **{f"share_{label}": (shares or {}).get(label, "") for label in LABELS},
                **{
                    f"{end}_{label}": intervals[label][i] if label in intervals else ""
                    for label in LABELS
                    for i, end in enumerate(("low", "high"))
                },
            }
        )
    return rows


@dataclass(frozen=True)
class Window:
    """One logged window for a chart: its span in ``tz`` and its class shares (None when
    suppressed)."""

    start: datetime
    end: datetime
    shares: dict[str, float] | None
    intervals: dict[str, tuple[float, float]] | None = None

    @property
    def suppressed(self) -> bool:
        return self.shares is None


def windows(rows: list[dict], tz: tzinfo) -> list[Window]:
    """The rows as :class:`Window` s in ``tz``, oldest first."""
    out = []
    for row in rows:
        start = datetime.fromtimestamp(parse_iso(row["start"]), tz)
        end = datetime.fromtimestamp(parse_iso(row["end"]), tz) if row["end"] else start
        shares = intervals = None
        if not row["suppressed"]:
            shares = {label: float(row[f"share_{label}"] or 0.0) for label in LABELS}
            if all(row.get(f"low_{label}", "") != "" for label in LABELS):
                intervals = {
                    label: (float(row[f"low_{label}"]), float(row[f"high_{label}"]))
                    for label in LABELS
                }
        out.append(Window(start, end, shares, intervals))
    return sorted(out, key=lambda w: w.start)


def resolve_tz(name: str | None) -> tzinfo:
    """``name`` (an IANA zone such as Europe/Berlin, or UTC) as a tzinfo; None: local time."""
    if name is None:
        return datetime.now().astimezone().tzinfo or timezone.utc
    if name.upper() == "UTC":
        return timezone.utc
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"--tz {name}: unknown time zone (e.g. Europe/Berlin or UTC)") from None


def title(wins: list[Window]) -> str:
    """ "Class shares per window, DATE (ZONE)" (a date range when the log spans days)."""
    first, last = wins[0].start, wins[-1].end - timedelta(microseconds=1)
    days = first.strftime("%Y-%m-%d")
    if last.date() > first.date():
        days += f" to {last.strftime('%Y-%m-%d')}"
    return f"Class shares per window, {days} ({zone_name(first)})"


def zone_name(moment: datetime) -> str:
    """The zone's key (Europe/Berlin) or abbreviation, with its UTC offset at ``moment``."""
    key = getattr(moment.tzinfo, "key", None) or moment.tzname() or "local time"
    offset = moment.strftime("%z")
    return key if offset in ("+0000", "") else f"{key}, UTC{offset[:3]}:{offset[3:]}"


def share_text(w: Window, label: str) -> str:
    """``41.0% (33–49%, 90 % interval)``: the share and, where known, its interval."""
    text = f"{w.shares[label]:.1%}"
    if w.intervals:
        low, high = w.intervals[label]
        text += f" ({low * 100:.0f}–{high:.0%}, 90 % interval)"
    return text


# -- CSV -----------------------------------------------------------------------------------------
def to_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    fields = ["start", "end", "suppressed", "partial", "tracks", "face_observations", "camera"]
    fields += ["estimator"] + [f"share_{label}" for label in LABELS]
    fields += [f"{end}_{label}" for label in LABELS for end in ("low", "high")]
    writer = csv.DictWriter(buffer, fields)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


# -- HTML ----------------------------------------------------------------------------------------
#: Tick steps for the HTML time axis, in seconds: the first giving at most ~8 ticks is used.
TICK_STEPS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800)


def time_ticks(first: datetime, last: datetime, most: int = 8) -> list[datetime]:
    """Round wall-clock times in ``first``'s zone from ``first`` to ``last`` (at most ~``most``)."""
    span = (last - first).total_seconds()
    step = next((s for s in TICK_STEPS if span / s <= most), TICK_STEPS[-1])
    midnight = first.replace(hour=0, minute=0, second=0, microsecond=0)
    since = (first.replace(tzinfo=None) - midnight.replace(tzinfo=None)).total_seconds()
    tick = midnight + timedelta(seconds=-(-since // step) * step)
    ticks = []
    while tick <= last:
        ticks.append(tick)
        tick += timedelta(seconds=step)  # wall-clock steps: 08:00, 09:00 local
    return ticks


def to_html(rows: list[dict], tz: tzinfo | None = None) -> str:
    """A self-contained page: stacked bars on a time axis (hatched when suppressed), a table."""
    wins = windows(rows, tz or resolve_tz(None))
    plot_w, plot_h, left, top = 900, 200, 50, 10
    first, last = wins[0].start, max(w.end for w in wins)
    span = max((last - first).total_seconds(), 1.0)

    def x(moment: datetime) -> float:
        return left + (moment - first).total_seconds() / span * plot_w

    parts = []
    for w in wins:
        x0, width = x(w.start), max(x(w.end) - x(w.start), 1.0)
        when = html.escape(w.start.strftime("%Y-%m-%d %H:%M:%S"))
        if w.suppressed:
            parts.append(
                f'<rect x="{x0:.2f}" y="{top}" width="{width:.2f}" height="{plot_h}" '
                f'fill="url(#hatch)" stroke="none"><title>{when}: {SUPPRESSED}</title></rect>'
            )
            continue
        y = float(top + plot_h)
        for label, colour in zip(LABELS, COLOURS, strict=True):
            h = w.shares[label] * plot_h
            y -= h
            if h > 0:
                parts.append(
                    f'<rect x="{x0:.2f}" y="{y:.2f}" width="{width:.2f}" height="{h:.2f}" '
                    f'fill="{colour}"><title>{when} {label}: {share_text(w, label)}</title></rect>'
                )
    base = top + plot_h
    ticks = []
    for tick in time_ticks(first, last):
        tx = x(tick)
        text = tick.strftime("%H:%M") if tick.time() != tick.min.time() else tick.strftime("%b %d")
        ticks.append(
            f'<line x1="{tx:.2f}" y1="{base}" x2="{tx:.2f}" y2="{base + 5}" stroke="#000"/>'
            f'<text x="{tx:.2f}" y="{base + 17}" font-size="11" text-anchor="middle">'
            f"{text}</text>"
        )
    legend = " ".join(
        f'<span style="color:{c}">&#9632;</span> {label}'
        for label, c in zip(LABELS, COLOURS, strict=True)
    )
    legend += f' <span style="color:#999">&#9636;</span> {SUPPRESSED}'
    table = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(str(row[k]))}</td>" for k in row) + "</tr>"
        for row in rows
    )
    header = "".join(f"<th>{html.escape(k)}</th>" for k in (rows[0] if rows else {}))
    heading = html.escape(title(wins))
    width, height = left + plot_w + 20, base + 45
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>fer-edge: {heading}</title>
<style>body{{font-family:sans-serif}} td,th{{padding:2px 6px;font-size:12px}}</style></head>
<body><h1>{heading}</h1>
<p>Aggregates only. Hatched spans are suppressed windows (fewer than min-group faces); empty
spans are times without a window (the daemon was not running). Expression estimates are not
emotions; see the README's "Responsible use".</p>
<svg width="{width}" height="{height}" role="img">
<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse"
patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#bbb"/></pattern></defs>
<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" stroke="#000"/>
<text x="0" y="{top + 5}" font-size="10">100%</text>
<text x="10" y="{base + 2}" font-size="10">0%</text>
{"".join(parts)}
{"".join(ticks)}
<text x="{left + plot_w / 2}" y="{base + 38}" font-size="12" text-anchor="middle">time
({html.escape(zone_name(first))})</text>
</svg>
<p>{legend}</p>
<table><tr>{header}</tr>
{table}
</table></body></html>
"""


# -- PNG -----------------------------------------------------------------------------------------
def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise FerError(
            "a PNG report needs matplotlib: pip install matplotlib (or use --out FILE.html/.csv)"
        ) from None
    return plt


def _days(w: Window) -> float:
    """The window's length in matplotlib date units (days)."""
    return (w.end - w.start).total_seconds() / 86400


def draw_shares(ax, wins: list[Window]) -> None:
    """Stacked bars of class shares, each spanning its window's time."""
    shown = [w for w in wins if not w.suppressed]
    bottom = [0.0] * len(shown)
    for label, colour in zip(LABELS, COLOURS, strict=True):
        values = [w.shares[label] for w in shown]
        ax.bar(
            [w.start for w in shown],
            values,
            width=[_days(w) for w in shown],
            bottom=bottom,
            align="edge",
            color=colour,
            label=label,
            edgecolor=colour,
            linewidth=0.5,  # a window narrower than a pixel (a log of days) stays visible
        )
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]


def draw_suppressed(ax, wins: list[Window]) -> None:
    """Suppressed windows as hatched, empty spans (there are no figures to show)."""
    hidden = [w for w in wins if w.suppressed]
    if hidden:
        ax.bar(
            [w.start for w in hidden],
            [1.0] * len(hidden),
            width=[_days(w) for w in hidden],
            align="edge",
            color="none",
            edgecolor="#bbbbbb",
            hatch="///",
            linewidth=0.5,
            label=SUPPRESSED,
        )


def draw_intervals(ax, wins: list[Window]) -> None:
    """Each class's share at its window's middle, with its 90 % interval as a band (windows
    without intervals, or suppressed, break the lines)."""
    import math

    for label, colour in zip(LABELS, COLOURS, strict=True):
        mids, shares, lows, highs = [], [], [], []
        for w in wins:
            mids.append(w.start + (w.end - w.start) / 2)
            known = w.intervals is not None
            shares.append(w.shares[label] if known else math.nan)
            lows.append(w.intervals[label][0] if known else math.nan)
            highs.append(w.intervals[label][1] if known else math.nan)
        ax.plot(mids, shares, color=colour, linewidth=1.2, marker=".", markersize=3)
        ax.fill_between(mids, lows, highs, color=colour, alpha=0.15, linewidth=0)


def format_time_axis(ax, wins: list[Window], tz: tzinfo) -> None:
    """Date locators and the concise formatter in ``tz``; the axis spans the whole log."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(tz=tz, minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=tz))
    ax.set_xlim(wins[0].start, max(w.end for w in wins))
    ax.set_xlabel(f"time ({zone_name(wins[0].start)})")


def plot(rows: list[dict], tz: tzinfo | None = None):
    """The report's figure (matplotlib, not yet saved); the caller closes it."""
    plt = _pyplot()
    tz = tz or resolve_tz(None)
    wins = windows(rows, tz)
    with_intervals = any(w.intervals for w in wins)
    if with_intervals:
        fig, (ax, band) = plt.subplots(
            2, 1, figsize=(11, 7), layout="constrained", sharex=True, height_ratios=(1, 1)
        )
        draw_intervals(band, wins)
        format_time_axis(band, wins, tz)
        band.set_ylim(0, 1)
        band.yaxis.set_major_formatter(lambda value, _pos: f"{value:.0%}")
        band.set_ylabel("share, 90 % interval")
    else:
        fig, ax = plt.subplots(figsize=(11, 4), layout="constrained")
    draw_shares(ax, wins)
    draw_suppressed(ax, wins)
    format_time_axis(ax, wins, tz)
    if with_intervals:
        ax.set_xlabel("")
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(lambda value, _pos: f"{value:.0%}")
    ax.set_ylabel("estimated share of faces")
    ax.set_title(title(wins))
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: _legend_rank(labels[i]))
    ax.legend(  # outside the bars, top to bottom as the stack
        [handles[i] for i in order],
        [labels[i] for i in order],
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
    )
    return fig


def _legend_rank(label: str) -> int:
    """Classes top of the stack first, then any other layer in the order drawn."""
    return -LABELS.index(label) if label in LABELS else len(LABELS)


def to_png(rows: list[dict], out: Path, tz: tzinfo | None = None) -> None:
    # The output place first: a folder that takes no file is the same one line (exit 73)
    # whether or not matplotlib is installed.
    with atomic.atomic_path(out) as tmp:
        fig = plot(rows, tz)
        try:
            fig.savefig(tmp, format="png", dpi=100)
        finally:
            _pyplot().close(fig)


def write_report(log_dir: str | os.PathLike, out: str | os.PathLike, tz: str | None = None) -> int:
    """Write the report chosen by ``out``'s extension; returns the number of windows.

    ``tz``: the charts' time zone (IANA name or UTC); None: the machine's.
    """
    out = Path(out)
    kind = out.suffix.lower()
    if kind not in (".csv", ".html", ".png"):
        raise ConfigError(f"{out}: the report must end in .csv, .html or .png")
    zone = resolve_tz(tz)
    records = sorted(read_windows(log_dir), key=lambda r: r.start)
    if not records:
        raise FerError(f"{log_dir}: no window records found")
    rows = _rows(records)
    if kind == ".csv":
        atomic.write_text(out, to_csv(rows))
    elif kind == ".html":
        atomic.write_text(out, to_html(rows, zone))
    else:
        to_png(rows, out, zone)
    return len(rows)
