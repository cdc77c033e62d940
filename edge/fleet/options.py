"""The fleet section of the run's configuration: MQTT publishing and the metrics endpoint."""

from __future__ import annotations

import importlib.util
import socket
from dataclasses import dataclass

from ..contract.errors import ConfigError
from ..options import check_fields, flag, option


@dataclass
class FleetOptions:
    """Where records are published (:mod:`.mqtt`) and metrics served (:mod:`.metrics`)."""

    site: str = option("school", "Site name: a level of the MQTT topics.")
    room: str | None = option(
        None, "Room name: a level of the MQTT topics [the host name].", example="room-1"
    )
    mqtt_host: str | None = option(
        None, "MQTT broker to publish window records to [off].", example="192.0.2.10"
    )
    mqtt_port: int | None = option(
        None, "MQTT broker port [1883; 8883 with mqtt-ca-file].", ge=1, le=65535, example=8883
    )
    mqtt_prefix: str = option("fer-edge", "First level of the MQTT topics.")
    mqtt_username: str | None = option(None, "MQTT user name.", example="room-1")
    mqtt_password_file: str | None = option(
        None,
        "File with the MQTT password (mode 600), or a systemd credential's name.",
        path=True,
        example="/etc/fer-edge/mqtt-password",
    )
    mqtt_ca_file: str | None = option(
        None, "CA certificate: TLS to the broker [no TLS].", path=True, example="/etc/ssl/ca.crt"
    )
    mqtt_cert_file: str | None = option(
        None, "Client certificate for TLS (optional).", path=True, example="/etc/ssl/client.crt"
    )
    mqtt_key_file: str | None = option(
        None, "Client certificate's key (optional).", path=True, example="/etc/ssl/client.key"
    )
    mqtt_backlog: int = option(
        10000,
        "Most records waiting for the broker; older ones stay in the local log only.",
        ge=1,
        le=10**7,
    )
    metrics_port: int = option(
        0, "Prometheus metrics on 127.0.0.1:PORT; 0: off.", ge=0, le=65535, note="0: off"
    )

    @property
    def resolved_room(self) -> str:
        return self.room or socket.gethostname().split(".")[0]

    def validate(self) -> None:
        from .mqtt import MqttSettings

        check_fields(self)
        MqttSettings.from_config(self)  # names, files and the password file's permissions
        for key, module, package in (
            ("mqtt_host", "paho", "paho-mqtt"),
            ("metrics_port", "prometheus_client", "prometheus-client"),
        ):
            if getattr(self, key) and importlib.util.find_spec(module) is None:
                raise ConfigError(
                    f"{flag(key)} is set but {package} is not installed: "
                    "pip install 'fer-edge[fleet]'"
                )
