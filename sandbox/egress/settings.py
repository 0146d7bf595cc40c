"""The proxy's settings, sent once by the worker in the ``configure`` control message.

Standard library only: this runs inside the proxy container.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.egress.addresses import Address


class SettingsError(ValueError):
    """A ``configure`` message field is missing or wrong; the message starts with its JSON
    pointer (``/max_bytes: ...``)."""


@dataclass(frozen=True)
class ProxySettings:
    """Caps and checks that apply to every lease.

    Attributes:
        production: whether the proxy runs in production mode (``test_public`` must be empty).
        test_public: exact ``(address, port)`` pairs exempted from the public-address check, so
            tests can reach a server on the host; refused in production.
        max_connections: connection attempts per lease (and connections open at once).
        max_bytes: bytes per lease, both directions together.
        connect_timeout_s: seconds for name resolution and TCP connect together.
    """

    production: bool
    test_public: frozenset[tuple[Address, int]]
    max_connections: int
    max_bytes: int
    connect_timeout_s: float

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> ProxySettings:
        """Parse a ``configure`` message; raise :class:`SettingsError` naming the field."""
        production = message.get("production")
        if not isinstance(production, bool):
            raise SettingsError("/production: must be true or false")
        raw_public = message.get("test_public", [])
        if not isinstance(raw_public, list):
            raise SettingsError("/test_public: must be a list of 'ip:port' strings")
        if production and raw_public:
            raise SettingsError(
                "/test_public: test-only exemptions from the address checks are refused in "
                "production mode"
            )
        test_public = frozenset(
            _ip_port(item, f"/test_public/{index}") for index, item in enumerate(raw_public)
        )
        return cls(
            production=production,
            test_public=test_public,
            max_connections=_positive_int(message, "max_connections"),
            max_bytes=_positive_int(message, "max_bytes"),
            connect_timeout_s=_positive_number(message, "connect_timeout_s"),
        )

    def exempt(self, address: Address, port: int) -> bool:
        """Whether ``address:port`` is a test server that counts as public."""
        return (address, port) in self.test_public


def _positive_int(message: Mapping[str, Any], name: str) -> int:
    value = message.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SettingsError(f"/{name}: must be a positive integer, got {value!r}")
    return value


def _positive_number(message: Mapping[str, Any], name: str) -> float:
    value = message.get(name)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise SettingsError(f"/{name}: must be a positive number of seconds, got {value!r}")
    return float(value)


def _ip_port(item: object, pointer: str) -> tuple[Address, int]:
    if not isinstance(item, str):
        raise SettingsError(f"{pointer}: must be a string 'ip:port'")
    host, sep, port = item.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        address = ipaddress.ip_address(host)
        number = int(port) if sep and port.isdigit() else 0
    except ValueError:
        raise SettingsError(f"{pointer}: {item!r} is not 'ip:port' (172.17.0.1:8443)") from None
    if not 1 <= number <= 65535:
        raise SettingsError(f"{pointer}: {item!r} needs a port from 1 to 65535")
    return address, number
