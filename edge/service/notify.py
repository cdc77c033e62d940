"""systemd's notify protocol with the standard library: one datagram on ``$NOTIFY_SOCKET``."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Notifier:
    """Sends READY/WATCHDOG/STATUS/STOPPING; does nothing when not run by systemd."""

    def __init__(
        self, env: dict[str, str] | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._clock = clock
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        enabled = usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid()))
        self.watchdog_interval = int(usec) / 2e6 if enabled else None
        self._last_ping = float("-inf")
        self._warned = False

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def send(self, *fields: str) -> bool:
        if not self._address:
            return False
        message = "\n".join(fields).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(message, self._address)
        except OSError as exc:
            if not self._warned:
                log.warning("sd_notify to %r failed: %s", self._address, exc)
                self._warned = True
            return False
        return True

    def ready(self, status: str) -> None:
        self.send("READY=1", "STATUS=" + _one_line(status))

    def status(self, status: str) -> None:
        self.send("STATUS=" + _one_line(status))

    def watchdog(self) -> None:
        """Ping, at most every half ``$WATCHDOG_USEC``; call it only after a processed frame."""
        if self.watchdog_interval is None:
            return
        now = self._clock()
        if now - self._last_ping >= self.watchdog_interval:
            self._last_ping = now
            self.send("WATCHDOG=1")

    def extending(self, status: str, seconds: float) -> None:
        """STATUS= plus EXTEND_TIMEOUT_USEC: still starting (waiting for a camera), not hung."""
        self.send(f"EXTEND_TIMEOUT_USEC={int(seconds * 1e6)}", "STATUS=" + _one_line(status))

    def stopping(self) -> None:
        self.send("STOPPING=1")


def _one_line(text: str) -> str:
    return " ".join(text.split())
