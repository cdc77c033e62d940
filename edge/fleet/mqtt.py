"""Publish window records to an MQTT broker (paho-mqtt), from the log, in order, QoS 1.

Topics: ``PREFIX/SITE/ROOM/windows`` (each record, QoS 1, with its ``id``; the newest is
retained, so a dashboard that connects sees every room's last window at once) and
``PREFIX/SITE/ROOM/status`` (retained: online/offline, model sha256, camera state; the broker
publishes "offline" itself when the device vanishes, as its Last Will).

One record is in flight at a time and the outbox cursor moves only on the broker's
acknowledgement, so a broker outage or a restart loses nothing and keeps the order. A daemon
killed between the broker's acceptance and its own cursor write would send that record twice;
so at start it reads the retained last window back from the broker (the last record the broker
accepted from this room) and resumes after it. Only what is in the local log is published:
suppressed windows stay suppressed.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import ssl
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..contract.errors import ConfigError
from ..record.window import WindowRecord
from .outbox import Outbox

log = logging.getLogger(__name__)

#: Topic levels may not hold these (MQTT wildcards and the level separator).
_BAD_LEVEL = set("/+#")


@dataclass(frozen=True)
class MqttSettings:
    host: str
    port: int
    site: str
    room: str
    prefix: str = "fer-edge"
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    backlog: int = 10000

    @property
    def topic(self) -> str:
        return f"{self.prefix}/{self.site}/{self.room}"

    @property
    def client_id(self) -> str:
        return f"fer-edge-{self.site}-{self.room}"

    @classmethod
    def from_config(cls, config) -> MqttSettings | None:
        """Settings from a RunConfig; None when MQTT is off (no ``mqtt_host``)."""
        if not config.mqtt_host:
            return None
        names = {
            "site": config.site,
            "room": config.resolved_room,
            "mqtt_prefix": config.mqtt_prefix,
        }
        for key, value in names.items():
            if not value or _BAD_LEVEL & set(value):
                raise ConfigError(
                    f"{key.replace('_', '-')} {value!r}: must be a non-empty name without / + #"
                )
        for key in ("mqtt_ca_file", "mqtt_cert_file", "mqtt_key_file"):
            path = getattr(config, key)
            if path and not credential(path).is_file():
                raise ConfigError(f"{key.replace('_', '-')} {path}: file not found")
        password = None
        if config.mqtt_password_file:
            if not config.mqtt_username:
                raise ConfigError("mqtt-password-file needs mqtt-username")
            password = read_secret(config.mqtt_password_file)
        tls = bool(config.mqtt_ca_file)
        return cls(
            host=config.mqtt_host,
            port=config.mqtt_port or (8883 if tls else 1883),
            site=config.site,
            room=config.resolved_room,
            prefix=config.mqtt_prefix,
            username=config.mqtt_username,
            password=password,
            ca_file=config.mqtt_ca_file,
            cert_file=config.mqtt_cert_file,
            key_file=str(credential(config.mqtt_key_file)) if config.mqtt_key_file else None,
            backlog=config.mqtt_backlog,
        )


def credential(name: str) -> Path:
    """``name`` as a systemd credential (``LoadCredential=NAME:...``, by its file name) where
    the service has one, else the file itself: one config serves a shell and the service."""
    path = Path(name)
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    if creds and (Path(creds) / path.name).is_file():
        return Path(creds) / path.name
    return path


def read_secret(name: str) -> str:
    """A password from a root-only file, or a systemd credential (``LoadCredential=``).

    A file that others may read is refused: a password must not sit in a readable place.
    """
    path = credential(name)
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the MQTT password ({exc.strerror})") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{path}: the MQTT password file is readable by others; chmod 600 it")
    password = text.strip("\r\n")
    if not password:
        raise ConfigError(f"{path}: the MQTT password file is empty")
    return password


class MqttPublisher:
    """Forwards the log's records to the broker on a thread of its own; never blocks the daemon.

    ``notify()`` after each record written; ``status(...)`` when the camera state changes;
    ``stop()`` at shutdown (sends what it can within a few seconds, then "offline").
    """

    def __init__(self, settings: MqttSettings, log_dir: str | os.PathLike, model_sha256: str):
        import paho.mqtt.client as mqtt

        self.settings = settings
        self.outbox = Outbox(log_dir, settings.backlog)
        self.published = 0
        self._status = {"state": "online", "model_sha256": model_sha256, "camera": "starting"}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._last_problem: str | None = None
        self._thread: threading.Thread | None = None
        self._loop_started = False
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            clean_session=True,
            reconnect_on_failure=True,
        )
        client.will_set(self._topic("status"), self._status_payload("offline"), qos=1, retain=True)
        if settings.username:
            client.username_pw_set(settings.username, settings.password)
        if settings.ca_file:
            client.tls_set(
                ca_certs=settings.ca_file,
                certfile=settings.cert_file,
                keyfile=settings.key_file,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        self._client = client

    @property
    def where(self) -> str:
        return f"MQTT broker {self.settings.host}:{self.settings.port}"

    @property
    def backlog(self) -> int:
        return len(self.outbox.pending())

    def _topic(self, leaf: str) -> str:
        return f"{self.settings.topic}/{leaf}"

    def _status_payload(self, state: str) -> str:
        return json.dumps({**self._status, "state": state, "time": time.time()})

    def _problem(self, text: str) -> None:
        """Say a connection problem once (and again only when it changes)."""
        if text != self._last_problem:
            log.error("%s: %s; records stay in the local log, sent later", self.where, text)
            self._last_problem = text

    # -- paho callbacks (its network thread) ------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            auth = reason_code.value in (
                4,
                5,
                134,
                135,
            )  # bad user name or password, not authorised
            hint = " (check mqtt-username and the password file)" if auth else ""
            self._problem(f"connection refused: {reason_code}{hint}")
            return
        if self._last_problem:
            log.warning("%s: connected again", self.where)
        else:
            log.info("%s: connected; publishing to %s/#", self.where, self.settings.topic)
        self._last_problem = None
        client.publish(self._topic("status"), self._status_payload("online"), qos=1, retain=True)
        self._connected.set()
        self._wake.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        if was_connected and not self._stopping.is_set():
            self._problem(f"connection lost ({reason_code})")

    # -- the forwarding thread ---------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mqtt-publisher", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """A record was written to the log."""
        self._wake.set()

    def status(self, **fields) -> None:
        """Update the retained status (e.g. ``camera="lost"``); sent when connected."""
        if all(self._status.get(k) == v for k, v in fields.items()):
            return
        self._status.update(fields)
        if self._connected.is_set():
            self._client.publish(
                self._topic("status"), self._status_payload("online"), qos=1, retain=True
            )

    def _connect_first(self) -> bool:
        """Connect once by hand (so a TLS or network error can be named), then let paho's
        network thread keep the connection, reconnecting with backoff."""
        delay = 1.0
        while not self._stopping.is_set():
            try:
                self._client.connect(self.settings.host, self.settings.port, keepalive=30)
            except ssl.SSLError as exc:
                self._problem(f"TLS failed ({exc.reason or exc}; check mqtt-ca-file)")
            except OSError as exc:
                hint = ""
                if exc.errno in (errno.ENETUNREACH, errno.EPERM, errno.EACCES):
                    hint = "; as a service, run `fer-edge install-service` again to open the way"
                self._problem(f"cannot connect ({exc.strerror or exc}{hint})")
            else:
                self._client.loop_start()
                self._loop_started = True
                return True
            self._stopping.wait(delay)
            delay = min(delay * 2, 30.0)
        return False

    def _run(self) -> None:
        if not self._connect_first():
            return
        while not self._connected.wait(1.0):
            if self._stopping.is_set():
                return
        self._resume_after(self._retained_last_id())
        while not self._stopping.is_set():
            self._wake.clear()
            if self._connected.is_set():
                self._forward()
            self._wake.wait(5.0)

    def _retained_last_id(self, grace: float = 0.5) -> str | None:
        """The id of the retained last window on the broker (None: nothing published yet)."""
        subscribed, last = threading.Event(), {}

        def on_message(client, userdata, message) -> None:
            if message.retain:
                try:
                    last["id"] = WindowRecord.from_dict(json.loads(message.payload)).id
                except ValueError:
                    log.warning("%s: retained window is not a record; ignored", self.where)

        self._client.on_message = on_message
        self._client.on_subscribe = lambda *args: subscribed.set()
        self._client.subscribe(self._topic("windows"), qos=1)
        if subscribed.wait(5.0):
            time.sleep(grace)  # a retained message follows the SUBACK at once
        self._client.unsubscribe(self._topic("windows"))
        self._client.on_message = None
        return last.get("id")

    def _resume_after(self, record_id: str | None) -> None:
        """Skip pending records up to ``record_id``, which the broker already has."""
        pending = self.outbox.pending()
        for n, entry in enumerate(pending):
            if entry.record.id == record_id:
                self.outbox.acknowledge(entry)
                log.info(
                    "%s already had %d pending record(s); resuming after them", self.where, n + 1
                )
                return

    def _forward(self) -> None:
        from paho.mqtt.client import MQTT_ERR_NO_CONN, MQTT_ERR_SUCCESS

        for entry in self.outbox.pending():
            info = self._client.publish(self._topic("windows"), entry.line, qos=1, retain=True)
            if info.rc == MQTT_ERR_NO_CONN:
                # The connection dropped just now: paho keeps a QoS 1 message and sends it once
                # reconnected, but its rc would make is_published() raise; wait for it instead.
                info.rc = MQTT_ERR_SUCCESS
            # paho resends an unacknowledged QoS 1 message itself after a reconnect: wait for
            # this one instead of publishing it again.
            while not info.is_published():
                if self._stopping.is_set() and not self._connected.is_set():
                    return
                time.sleep(0.02)
            self.outbox.acknowledge(entry)
            self.published += 1

    def stop(self, timeout: float = 5.0) -> None:
        """Send what is pending for up to ``timeout`` seconds, say "offline", disconnect."""
        deadline = time.monotonic() + timeout
        while self._connected.is_set() and self.backlog and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.05)
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)  # a connect() still hanging is left to exit
        if self._connected.is_set():
            info = self._client.publish(
                self._topic("status"), self._status_payload("offline"), qos=1, retain=True
            )
            info.wait_for_publish(max(0.1, deadline - time.monotonic()))
        self._client.disconnect()
        if self._loop_started:
            self._client.loop_stop()
