"""What every bench script ends with: its report as JSON, with the load it ran under."""

from __future__ import annotations

import json
import os
from pathlib import Path


def emit(report: dict, out: Path | None, load_before: tuple[float, ...]) -> None:
    """Add the cores and the 1-minute load average before/after, print, and write ``out``."""
    report["cores"] = os.cpu_count()
    report["load_average_before_after"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
    text = json.dumps(report, indent=2)
    if out:
        out.write_text(text + "\n")
    print(text)
