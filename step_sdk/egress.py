"""The egress allowlist of a step: which hosts and ports its code may connect to.

A manifest's ``egress`` is a list of entries, each ``host`` or ``host:port``:

* ``api.github.com`` - that name, port 443 (the port defaults to 443; 80 is reachable only when
  listed, e.g. ``example.com:80``);
* ``*.slack.com`` - any name below ``slack.com`` (one or more labels), not ``slack.com`` itself;
* ``hooks.example.com:8443`` - that name on that port;
* ``203.0.113.7`` or ``[2001:db8::1]:8443`` - an IP literal, written canonically; a request to
  an IP address is allowed only when that address is listed literally;
* ``*`` (or ``*:80``) - any public host name on port 443 (or 80), if the operator allows it.

Entries are names, never URLs, paths, schemes or ranges. Whether a listed host may really be
reached is decided later, outside the step's container, on the addresses the name resolves to:
no entry ever makes a private, loopback or link-local address reachable.

This module is standard library only: the egress proxy imports it inside its own container.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DEFAULT_PORT = 443
ANY_HOST = "*"
MAX_ENTRIES = 64
MAX_ENTRY_CHARS = 260
# RFC 1035 section 2.3.4: a name is at most 253 characters (without the final dot), a label 63.
MAX_NAME_CHARS = 253
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
# WHATWG URL standard, "ends in a number": such a host is parsed as an IPv4 address by browsers
# and by inet_aton (``127.1``, ``0x7f.1``, ``2130706433``), so it can never be a name.
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")
_PORT = re.compile(r"^[1-9][0-9]{0,4}$")


class EgressEntryError(ValueError):
    """An egress entry that is not ``host`` or ``host:port``; the message says what is wrong."""


@dataclass(frozen=True, order=True)
class EgressRule:
    """One parsed entry. ``host`` is lower case: a name, ``*.suffix``, ``*``, or an IP address
    in canonical form (IPv6 without brackets); ``port`` is 1-65535."""

    host: str
    port: int

    @property
    def is_ip(self) -> bool:
        return is_ip_literal(self.host)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORT else f"{host}:{self.port}"

    def allows(self, host: str, port: int) -> bool:
        """Whether this rule lets a request reach ``host`` (normalized, see
        :func:`normalize_host`) on ``port``."""
        if port != self.port:
            return False
        if self.host == host:
            return True
        if is_ip_literal(host):
            return False  # an address is allowed only when listed literally
        if self.host == ANY_HOST:
            return True
        return self.host.startswith("*.") and host.endswith(self.host[1:])

    def covers(self, other: EgressRule) -> bool:
        """Whether everything ``other`` allows, this rule allows too."""
        if other.port != self.port:
            return False
        if other.host == self.host:
            return True
        if other.is_ip or other.host == ANY_HOST:
            return False
        if self.host == ANY_HOST:
            return True
        if self.host.startswith("*."):
            return other.host.endswith(self.host[1:])
        return False


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _check_name(name: str) -> str:
    if not name:
        raise EgressEntryError("the host is empty")
    if len(name) > MAX_NAME_CHARS:
        raise EgressEntryError(f"the host name is longer than {MAX_NAME_CHARS} characters")
    labels = name.split(".")
    if any(not label for label in labels):
        raise EgressEntryError(f"{name!r} has an empty label (two dots, or a dot at an end)")
    for label in labels:
        if not _LABEL.match(label):
            raise EgressEntryError(
                f"{label!r} is not a host name label: letters, digits, '-' and '_', at most 63 "
                "characters, not starting or ending with '-'"
            )
    if _NUMERIC_LABEL.match(labels[-1]):
        raise EgressEntryError(
            f"{name!r} reads as a numeric IP address; write an address in canonical form "
            "(e.g. 203.0.113.7) or use a host name"
        )
    return name


def parse_entry(entry: object) -> EgressRule:
    """Parse one manifest entry; raise :class:`EgressEntryError` saying what is wrong."""
    if not isinstance(entry, str):
        raise EgressEntryError("an entry must be a string such as 'api.github.com'")
    if not entry:
        raise EgressEntryError("the entry is empty")
    if len(entry) > MAX_ENTRY_CHARS:
        raise EgressEntryError(f"the entry is longer than {MAX_ENTRY_CHARS} characters")
    if "://" in entry or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:(?=[a-zA-Z/])", entry):
        raise EgressEntryError(
            "a URL or scheme is not a host: write only the host name, e.g. 'api.github.com'"
        )
    if "/" in entry:
        raise EgressEntryError(
            "a path or an address range is not a host: write one host name or address, without '/'"
        )
    if any(ch.isspace() for ch in entry) or "@" in entry or "?" in entry or "#" in entry:
        raise EgressEntryError("the entry must be a bare host or host:port")
    host, port = _split_port(entry)
    host = host.lower()
    if host == ANY_HOST:
        return EgressRule(ANY_HOST, port)
    if host.startswith("["):
        if not host.endswith("]"):
            raise EgressEntryError("an IPv6 address is written in brackets: '[2001:db8::1]'")
        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise EgressEntryError(f"{host} is not an IPv6 address") from None
        return EgressRule(address.compressed, port)
    if ":" in host:
        raise EgressEntryError("an IPv6 address is written in brackets: '[2001:db8::1]:443'")
    if "*" in host:
        if not host.startswith("*.") or "*" in host[2:]:
            raise EgressEntryError(
                "a wildcard is allowed only as the whole first label, e.g. '*.slack.com'"
            )
        suffix = _check_name(host[2:])
        if "." not in suffix:
            raise EgressEntryError(
                f"'*.{suffix}' would allow a whole top-level domain; name the domain, "
                "e.g. '*.example.com'"
            )
        return EgressRule(f"*.{suffix}", port)
    if re.match(r"^[0-9.]+$", host):
        try:
            return EgressRule(str(ipaddress.IPv4Address(host)), port)
        except ValueError:
            raise EgressEntryError(
                f"{host!r} is not an IPv4 address in canonical dotted-decimal form"
            ) from None
    return EgressRule(_check_name(host), port)


def _split_port(entry: str) -> tuple[str, int]:
    if entry.startswith("["):
        end = entry.find("]")
        if end == -1:
            return entry, DEFAULT_PORT
        host, rest = entry[: end + 1], entry[end + 1 :]
        if not rest:
            return host, DEFAULT_PORT
        if not rest.startswith(":"):
            raise EgressEntryError("after an IPv6 address in brackets only ':port' may follow")
        return host, _port(rest[1:])
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, _port(port)
    if ":" in entry and "." in entry.split(":", 1)[0]:
        raise EgressEntryError("host:port takes one ':' (an IPv6 address goes in brackets)")
    return entry, DEFAULT_PORT


def _port(text: str) -> int:
    if not _PORT.match(text) or not 1 <= int(text) <= 65535:
        raise EgressEntryError(f"the port {text!r} is not a number from 1 to 65535")
    return int(text)


def parse_egress(entries: Sequence[object]) -> tuple[EgressRule, ...]:
    """Parse a whole list; errors name the entry's index, as in ``/egress/2: ...``."""
    if len(entries) > MAX_ENTRIES:
        raise EgressEntryError(f"at most {MAX_ENTRIES} entries are allowed")
    rules = []
    for index, entry in enumerate(entries):
        try:
            rules.append(parse_entry(entry))
        except EgressEntryError as exc:
            raise EgressEntryError(f"/egress/{index}: {exc}") from None
    return tuple(sorted(set(rules)))


def normalize_host(host: str) -> str | None:
    """The host of a request in the form rules compare against, or ``None`` if it is not a host.

    Lower case without one final dot; an IPv6 literal without brackets, compressed; anything
    that reads as an IPv4 address in any spelling (``127.1``, ``0x7f.0.0.1``, ``2130706433``,
    ``0177.0.0.1``) becomes its canonical dotted-decimal form, so it can only match an entry
    that lists that very address.
    """
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host.endswith(".") and not host.endswith(".."):
        host = host[:-1]
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host).compressed
        except ValueError:
            return None
    labels = host.split(".")
    if labels and _NUMERIC_LABEL.match(labels[-1]):
        return _lenient_ipv4(labels)
    try:
        return _check_name(host)
    except EgressEntryError:
        return None


def _lenient_ipv4(labels: list[str]) -> str | None:
    """IPv4 parsing as inet_aton and the WHATWG URL standard do it (decimal, octal with a
    leading 0, hex with 0x; 1 to 4 parts, the last filling the remaining bytes)."""
    if len(labels) > 4 or any(not label for label in labels):
        return None
    numbers = []
    for label in labels:
        try:
            if label.startswith("0x"):
                numbers.append(int(label[2:] or "0", 16))
            elif len(label) > 1 and label.startswith("0"):
                numbers.append(int(label, 8))
            else:
                numbers.append(int(label, 10))
        except ValueError:
            return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for index, number in enumerate(head):
        value += number << (8 * (3 - index))
    return str(ipaddress.IPv4Address(value))


def allows(rules: Iterable[EgressRule], host: str, port: int) -> bool:
    """Whether any rule lets a request reach the normalized ``host`` on ``port``."""
    return any(rule.allows(host, port) for rule in rules)


def widened(new: Iterable[EgressRule], old: Iterable[EgressRule]) -> list[str]:
    """Entries of ``new`` that no entry of ``old`` covers (what a new version adds), as text."""
    previous = list(old)
    return [str(rule) for rule in new if not any(o.covers(rule) for o in previous)]
