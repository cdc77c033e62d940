"""The outbox: records the broker has not acknowledged, read from the log; the backlog bounded."""

from __future__ import annotations

import logging

from fer_edge.fleet.outbox import Outbox
from fer_edge.record.jsonl import JsonlLog
from helpers.fakes import window
from helpers.skips import requires


@requires("paho.mqtt")
def test_the_backlog_is_bounded_with_a_warning(tmp_path, caplog):
    log = JsonlLog(tmp_path)
    log.prepare()
    for i in range(12):
        log.write(window(i))
    outbox = Outbox(tmp_path, limit=5)
    with caplog.at_level(logging.WARNING):
        pending = outbox.pending()
    assert [e.record for e in pending] == [window(i) for i in range(7, 12)]
    assert "exceeds the limit of 5" in caplog.text and outbox.skipped == 7
    assert Outbox(tmp_path, limit=5).pending() == pending  # the skip is remembered
