"""The record section of the run's configuration: windows, the smallest group, the log folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..options import check_fields, option

#: The longest window: a record is the aggregate of at most a day.
MAX_WINDOW_S = 86400.0


@dataclass
class RecordOptions:
    """Windows (:mod:`.aggregate`) and their JSON Lines log (:mod:`.jsonl`)."""

    window: float = option(
        60.0, "Aggregation window in seconds.", ge=1, le=MAX_WINDOW_S, note="1 s to a day"
    )
    min_group: int = option(5, "Suppress windows with fewer distinct faces.", ge=1, le=10000)
    log_dir: str | None = option(
        None,
        "Where the JSON Lines go [$STATE_DIRECTORY or ./fer-edge-logs].",
        path=True,
        example="/var/lib/fer-edge",
    )
    keep_days: int = option(90, "Delete logs older than this.", ge=1, le=36500)
    min_free_mb: int = option(
        50, "Delete oldest logs while free space is below this.", ge=0, le=10**7
    )

    @property
    def resolved_log_dir(self) -> Path:
        return Path(self.log_dir or os.environ.get("STATE_DIRECTORY") or "./fer-edge-logs")

    def validate(self) -> None:
        check_fields(self)
