"""Where a proxy request wants to go: the CONNECT authority or the absolute-form URL.

Every host goes through ``step_sdk.egress.normalize_host``, the very function the rules are
matched with, so a spelling the rules would not recognise (``0x7f.1``, ``[::ffff:127.0.0.1]``)
is compared, resolved and recorded as the address it denotes. Standard library, h11 and
``step_sdk.egress`` only: this runs inside the proxy container.
"""

from __future__ import annotations

from dataclasses import dataclass

import h11

from sandbox.egress.refusal import Refusal
from step_sdk.egress import normalize_host

HTTP_PORT = 80
_AUTHORITY_END = ("/", "?", "#")


@dataclass(frozen=True)
class Target:
    """A request's destination.

    Attributes:
        host: normalized host (lower-case name, canonical IPv4, compressed IPv6 without brackets).
        port: 1-65535.
        path: the origin-form target to send upstream (``/path?query``); ``b""`` for CONNECT.
    """

    host: str
    port: int
    path: bytes = b""


def request_target(request: h11.Request) -> Target:
    """The destination of a CONNECT or absolute-form ``http://`` request.

    The Host header of an absolute-form request is checked by :func:`check_host_header`.

    Raises:
        Refusal: 400 for origin-form or other non-proxy targets, other schemes, user info, a
            missing or bad port, or a host that is not a name or address.
    """
    target = _ascii(request.target, "request target")
    if request.method == b"CONNECT":
        host, port = split_authority(target, default_port=None)
        return Target(host, port)
    if target.startswith("/") or target == "*":
        raise Refusal(
            400,
            "this is a forward proxy: send absolute-form requests (GET http://host/path) or "
            "CONNECT host:port, not origin-form requests",
        )
    if target[:7].lower() != "http://":
        raise Refusal(400, "only http:// URLs are forwarded; use CONNECT for https")
    rest = target[7:]
    end = min((i for i in (rest.find(c) for c in _AUTHORITY_END) if i >= 0), default=len(rest))
    authority, path = rest[:end], rest[end:].split("#", 1)[0]
    if "@" in authority:
        raise Refusal(400, "user info in the URL (user@host) is not forwarded")
    host, port = split_authority(authority, default_port=HTTP_PORT)
    if not path.startswith("/"):
        path = "/" + path
    return Target(host, port, path.encode("ascii"))


def split_authority(text: str, default_port: int | None) -> tuple[str, int]:
    """``host[:port]`` or ``[v6][:port]`` as a normalized host and a port.

    Raises:
        Refusal: 400 when the port is missing (``default_port`` None) or not 1-65535, or the host
            is not a host name or IP address.
    """
    port_text: str | None = None
    if text.startswith("["):
        end = text.find("]")
        if end == -1 or (text[end + 1 :] and not text[end + 1 :].startswith(":")):
            raise Refusal(400, f"{text!r} is not host:port")
        host_text = text[: end + 1]
        if text[end + 1 :]:
            port_text = text[end + 2 :]
    elif text.count(":") == 1:
        host_text, _, port_text = text.partition(":")
    elif ":" in text:
        raise Refusal(400, f"{text!r}: an IPv6 address must be written in brackets")
    else:
        host_text = text
    if port_text is None:
        if default_port is None:
            raise Refusal(400, f"{text!r} has no port (CONNECT needs host:port)")
        port = default_port
    elif port_text.isdigit() and len(port_text) <= 5 and 1 <= int(port_text) <= 65535:
        port = int(port_text)
    else:
        raise Refusal(400, f"{text!r} has a port that is not 1-65535")
    host = normalize_host(host_text)
    if host is None:
        raise Refusal(400, f"{host_text!r} is not a host name or IP address")
    return host, port


def check_host_header(request: h11.Request, target: Target) -> None:
    """Refuse an absolute-form request whose Host header names another host than its URL (or
    appears twice): a server behind the checked address must not be asked for another host.

    Raises:
        Refusal: 400.
    """
    host, port = target.host, target.port
    values = [value for name, value in request.headers if name == b"host"]
    if len(values) > 1:
        raise Refusal(400, "the request has more than one Host header")
    if not values:
        return  # HTTP/1.0 without Host: the URL alone names the destination
    try:
        named = split_authority(_ascii(values[0], "Host header"), default_port=HTTP_PORT)
    except Refusal as exc:
        raise Refusal(400, f"the Host header is not host[:port]: {exc.reason}") from None
    if named != (host, port):
        raise Refusal(
            400,
            f"the Host header names {named[0]}:{named[1]}, not the URL's {host}:{port}",
        )


def _ascii(raw: bytes, what: str) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise Refusal(400, f"the {what} is not ASCII") from None
