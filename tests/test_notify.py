"""sd_notify: datagram sockets, the watchdog's rate limit, extending the start timeout."""

from __future__ import annotations

import os
import socket
import threading

from fer_edge.service.notify import Notifier


def test_notify_sends_to_a_datagram_socket_and_rate_limits_the_watchdog(tmp_path):
    address = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(address)
        server.settimeout(1)
        now = [0.0]
        notifier = Notifier({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "2000000"}, lambda: now[0])
        notifier.ready("up")
        notifier.watchdog()
        notifier.watchdog()  # within 1 s: not sent
        now[0] = 1.5
        notifier.watchdog()
        notifier.stopping()
        got = [server.recv(4096).decode() for _ in range(4)]
    assert got == ["READY=1\nSTATUS=up", "WATCHDOG=1", "WATCHDOG=1", "STOPPING=1"]


def test_notify_abstract_socket_and_absent_socket():
    name = f"fer-edge-test-{os.getpid()}-{threading.get_ident()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind("\0" + name)
        server.settimeout(1)
        Notifier({"NOTIFY_SOCKET": "@" + name}).status("multi\nline")
        assert server.recv(4096) == b"STATUS=multi line"
    assert Notifier({}).send("READY=1") is False


def test_extending_tells_systemd_the_start_goes_on(tmp_path):
    import socket

    from fer_edge.service.notify import Notifier

    address = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(address)
        server.settimeout(1)
        Notifier({"NOTIFY_SOCKET": address}).extending("waiting for\ncamera 7", 30)
        assert server.recv(4096) == b"EXTEND_TIMEOUT_USEC=30000000\nSTATUS=waiting for camera 7"
