"""Why the proxy stops a connection, and the short HTTP reply the step then gets.

Standard library only: this runs inside the proxy container.
"""

from __future__ import annotations

from http import HTTPStatus


class Refusal(Exception):
    """The proxy will not (or cannot) carry this connection on.

    Attributes:
        status: the HTTP status sent to the step when no response has started yet (400 bad
            request, 403 not allowed, 429 cap reached, 502 upstream failure, 504 connect timeout).
        reason: the short text recorded as the connection's ``reason`` and sent as the body.
    """

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class CapReached(Exception):
    """The lease's byte cap is used up; the connection is cut."""


def response_bytes(status: int, reason: str) -> bytes:
    """A complete ``Connection: close`` HTTP/1.1 response whose text body names ``reason``.

    Written by hand rather than through the step's h11 connection, which may be in an error
    state after a malformed request; ``reason`` is printable text (see ``records.printable``).
    """
    body = f"stepwell egress proxy: {reason}\n".encode("utf-8", "replace")
    phrase = HTTPStatus(status).phrase
    head = (
        f"HTTP/1.1 {status} {phrase}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body
