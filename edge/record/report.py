"""``fer-edge report``: a timeline of class shares per window (CSV, HTML or PNG).

Suppressed windows (fewer than ``min_group`` distinct faces) carry no class figures and are
shown as gaps. Only the aggregate logs are read; there is nothing else to read.
"""

from __future__ import annotations

import csv
import html
import io
import os
from pathlib import Path

from ..contract import atomic
from ..contract.errors import ConfigError, FerError
from ..contract.labels import LABELS
from .jsonl import read_windows
from .timeutil import iso
from .window import WindowRecord

COLOURS = ("#d62728", "#8c564b", "#9467bd", "#2ca02c", "#7f7f7f", "#1f77b4", "#ff7f0e")


def _rows(records: list[WindowRecord]) -> list[dict]:
    rows = []
    for r in records:
        shares = r.shares if not r.suppressed else None
        rows.append(
            {
                "start": iso(r.start),
                "end": iso(r.end),
                "suppressed": r.suppressed,
                "partial": r.partial,
                "tracks": r.tracks,
                "face_observations": r.face_observations,
                "camera": r.camera.status,
                **{f"share_{label}": (shares or {}).get(label, "") for label in LABELS},
            }
        )
    return rows


def to_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    fields = ["start", "end", "suppressed", "partial", "tracks", "face_observations", "camera"]
    writer = csv.DictWriter(buffer, fields + [f"share_{label}" for label in LABELS])
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def to_html(rows: list[dict]) -> str:
    """A self-contained page: one stacked bar per window (an empty slot when suppressed)."""
    width, height, bar = max(len(rows), 1) * 14 + 60, 260, 12
    parts = []
    for i, row in enumerate(rows):
        x = 50 + i * 14
        if row["suppressed"]:
            parts.append(
                f'<rect x="{x}" y="10" width="{bar}" height="200" fill="none" stroke="#ccc" '
                f'stroke-dasharray="2,2"><title>{html.escape(row["start"])}: suppressed '
                f"(fewer than min-group faces)</title></rect>"
            )
            continue
        y = 210.0
        for label, colour in zip(LABELS, COLOURS, strict=True):
            share = float(row[f"share_{label}"] or 0.0)
            h = share * 200
            y -= h
            if h > 0:
                parts.append(
                    f'<rect x="{x}" y="{y:.2f}" width="{bar}" height="{h:.2f}" fill="{colour}">'
                    f"<title>{html.escape(row['start'])} {label}: {share:.1%}</title></rect>"
                )
    legend = " ".join(
        f'<span style="color:{c}">&#9632;</span> {label}'
        for label, c in zip(LABELS, COLOURS, strict=True)
    )
    table = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(str(row[k]))}</td>" for k in row) + "</tr>"
        for row in rows
    )
    header = "".join(f"<th>{html.escape(k)}</th>" for k in (rows[0] if rows else {}))
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>fer-edge: class shares per window</title>
<style>body{{font-family:sans-serif}} td,th{{padding:2px 6px;font-size:12px}}</style></head>
<body><h1>Class shares per window</h1>
<p>Aggregates only. Dashed empty slots are suppressed windows (fewer than min-group faces).
Expression estimates are not emotions; see the README's "Responsible use".</p>
<svg width="{width}" height="{height}" role="img">
<line x1="48" y1="210" x2="{width}" y2="210" stroke="#000"/>
<text x="0" y="15" font-size="10">100%</text><text x="10" y="212" font-size="10">0%</text>
{"".join(parts)}
</svg>
<p>{legend}</p>
<table><tr>{header}</tr>
{table}
</table></body></html>
"""


def to_png(rows: list[dict], out: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise FerError(
            "a PNG report needs matplotlib: pip install matplotlib (or use --out FILE.html/.csv)"
        ) from None
    fig, ax = plt.subplots(figsize=(max(6, len(rows) * 0.25), 4))
    x = range(len(rows))
    bottom = [0.0] * len(rows)
    for label, colour in zip(LABELS, COLOURS, strict=True):
        values = [0.0 if r["suppressed"] else float(r[f"share_{label}"] or 0) for r in rows]
        ax.bar(x, values, bottom=bottom, color=colour, label=label, width=0.9)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of face observations")
    ax.set_title("Class shares per window (gaps: suppressed)")
    step = max(1, len(rows) // 8)
    ax.set_xticks(list(x)[::step], [r["start"][11:16] for r in rows][::step])
    ax.legend(fontsize=7, ncol=4, loc="upper right")
    fig.tight_layout()
    with atomic.atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def write_report(log_dir: str | os.PathLike, out: str | os.PathLike) -> int:
    """Write the report chosen by ``out``'s extension; returns the number of windows."""
    out = Path(out)
    kind = out.suffix.lower()
    if kind not in (".csv", ".html", ".png"):
        raise ConfigError(f"{out}: the report must end in .csv, .html or .png")
    records = sorted(read_windows(log_dir), key=lambda r: r.start)
    if not records:
        raise FerError(f"{log_dir}: no window records found")
    rows = _rows(records)
    if kind == ".csv":
        atomic.write_text(out, to_csv(rows))
    elif kind == ".html":
        atomic.write_text(out, to_html(rows))
    else:
        to_png(rows, out)
    return len(rows)
