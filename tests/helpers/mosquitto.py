"""A real Mosquitto broker on 127.0.0.1 for tests: plain, password and TLS listeners.

Each broker runs in its own folder with its own config; ``stop()``/``start()`` simulate an
outage on the same port. Messages persist across restarts (``persistence true``), as a
production broker would keep a dashboard's session.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_ca(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed CA (cert, key) made with openssl."""
    key, cert = folder / f"{name}.key", folder / f"{name}.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def make_server_cert(folder: Path, ca: tuple[Path, Path]) -> tuple[Path, Path]:
    """A server certificate for 127.0.0.1, signed by ``ca``."""
    key, csr, cert = folder / "server.key", folder / "server.csr", folder / "server.crt"
    ext = folder / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    subprocess.run(
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
         "-keyout", str(key), "-out", str(csr)],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        ["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
         "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


class Broker:
    """``mosquitto -c CONF`` in ``folder``; optional user/password and TLS."""

    def __init__(self, folder: Path, users: dict[str, str] | None = None, tls=None) -> None:
        if not Path(MOSQUITTO).exists():
            pytest.skip(
                "mosquitto is not installed: apt-get install mosquitto (the fleet tests start "
                "their own broker on 127.0.0.1; .ci/run installs it)"
            )
        self.folder, self.port = folder, free_port()
        folder.mkdir(parents=True, exist_ok=True)
        lines = [
            # As root, mosquitto would drop to user "mosquitto", who cannot read a test's files.
            *(["user root"] if os.geteuid() == 0 else []),
            f"listener {self.port} 127.0.0.1",
            "persistence true",
            f"persistence_location {folder}/",
            f"log_dest file {folder}/mosquitto.log",
        ]
        if users:
            passwd = folder / "passwd"
            passwd.touch(mode=0o600)
            for user, password in users.items():
                subprocess.run(
                    ["mosquitto_passwd", "-b", str(passwd), user, password],
                    check=True,
                    capture_output=True,
                )
            lines += ["allow_anonymous false", f"password_file {passwd}"]
        else:
            lines.append("allow_anonymous true")
        if tls:
            ca_cert, server_cert, server_key = tls
            lines += [f"cafile {ca_cert}", f"certfile {server_cert}", f"keyfile {server_key}"]
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    why = self.proc.stderr.read().decode()
                    raise RuntimeError(f"mosquitto exited: {why}") from None
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class Subscriber:
    """Collects ``(topic, payload)`` of every message under ``topic`` (a persistent session)."""

    def __init__(self, broker: Broker, topic: str, name: str = "test-subscriber", **tls) -> None:
        import paho.mqtt.client as mqtt

        self.messages: list[tuple[str, bytes, bool]] = []
        self.dups: list[bytes] = []
        self._lock = threading.Lock()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name, clean_session=False)
        client.reconnect_delay_set(0.2, 1)

        def on_connect(c, userdata, flags, reason_code, properties):
            c.subscribe(topic, qos=1)

        def on_message(c, userdata, msg):
            with self._lock:
                self.messages.append((msg.topic, msg.payload, msg.retain))
                if msg.dup:
                    self.dups.append(msg.payload)

        client.on_connect, client.on_message = on_connect, on_message
        if tls:
            client.tls_set(**tls)
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        self.client = client

    def payloads(self, leaf: str, retained: bool = False) -> list[bytes]:
        """Messages delivered live (or, with ``retained``, those replayed on subscribing)."""
        with self._lock:
            return [p for t, p, r in self.messages if t.endswith("/" + leaf) and r == retained]

    def wait_for(self, leaf: str, n: int, timeout: float = 20.0) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.payloads(leaf)) < n:
            time.sleep(0.05)
        return self.payloads(leaf)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
