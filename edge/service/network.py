"""The service's network drop-in: none by default; only what MQTT and metrics need.

The unit has ``PrivateNetwork=yes``. When the config publishes to a broker (``mqtt_host``) or
serves metrics (``metrics_port``), ``fer-edge install-service`` writes
``fer-edge.service.d/network.conf``, which gives the service the host's network but lets it
reach only the broker's addresses (resolved at install time), the name servers when the broker
is a name, and localhost for metrics; secrets come in as systemd credentials
(``LoadCredential=``), which the service's throwaway user can read and nobody else.
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path, PurePosixPath

from ..contract.errors import FerError

DROPIN = PurePosixPath("/etc/systemd/system/fer-edge.service.d/network.conf")
#: Config keys naming secret files the service reads through $CREDENTIALS_DIRECTORY.
SECRETS = ("mqtt_password_file", "mqtt_key_file")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def broker_addresses(host: str) -> list[str]:
    """The addresses ``host`` resolves to now (an IP address is itself)."""
    if _is_ip(host):
        return [host]
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise FerError(
            f"mqtt-host {host}: cannot resolve it ({exc.strerror or exc}); the service's firewall "
            "needs the broker's addresses: use an IP address or fix DNS first"
        ) from None
    return sorted({info[4][0] for info in infos})


def nameservers(resolv_conf: Path = Path("/etc/resolv.conf")) -> list[str]:
    try:
        lines = resolv_conf.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [p[1] for p in (line.split() for line in lines) if len(p) > 1 and p[0] == "nameserver"]


def network_dropin(options: dict) -> str | None:
    """The drop-in text for a config's ``options`` (load_toml's dict); None: no network."""
    host, port = options.get("mqtt_host"), options.get("metrics_port") or 0
    if not host and not port:
        return None
    lines = [
        "# Written by `fer-edge install-service` from /etc/fer-edge/config.toml; the next install",
        "# rewrites or removes it. Without it the service has no network at all.",
        "[Service]",
        "PrivateNetwork=no",
        "RestrictAddressFamilies=AF_INET AF_INET6",
        "# IPAddressDeny=any (the unit) stays: only these are reachable.",
    ]
    loopback = bool(port)
    if host:
        addresses = broker_addresses(host)
        lines += [f"# the MQTT broker {host}", "IPAddressAllow=" + " ".join(addresses)]
        loopback |= any(ipaddress.ip_address(a).is_loopback for a in addresses)
        servers = [] if _is_ip(host) else nameservers()
        if servers:
            lines += [
                "# name servers, to resolve the broker",
                "IPAddressAllow=" + " ".join(servers),
            ]
            loopback |= any(ipaddress.ip_address(s).is_loopback for s in servers)
    if loopback:
        lines += [
            "# metrics on 127.0.0.1 (and a local broker or resolver)",
            "IPAddressAllow=localhost",
        ]
    for key in SECRETS:
        path = options.get(key)
        if path and PurePosixPath(path).is_absolute():
            name = PurePosixPath(path).name
            lines.append(f"LoadCredential={name}:{path}")
    return "\n".join(lines) + "\n"
