"""Opaque page cursors: what a client passes back as ``cursor`` to get the next page.

A cursor is URL-safe base64 of bytes the server chose: a JSON position, or a third party's page
token *sealed* with an HMAC so that only tokens this server issued, for the same listing, are
ever passed on (Temporal answers a forged token with a slow internal error, not a refusal).
Clients must treat cursors as opaque; one that does not decode is a 422 naming
``/query/cursor``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from step_sdk.errors import Problem
from ui_api.errors import invalid

MAX_CURSOR_CHARS = 4096


def encode_bytes(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def decode_bytes(cursor: str) -> bytes:
    """The bytes inside a cursor (422 if it is not one of ours)."""
    if len(cursor) > MAX_CURSOR_CHARS:
        raise _bad_cursor(f"is longer than {MAX_CURSOR_CHARS} characters")
    try:
        data = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise _bad_cursor("is not a cursor this API returned") from None
    if not data:
        raise _bad_cursor("is empty")
    return data


_MAC_BYTES = 16


def _mac(secret: str, context: str, data: bytes) -> bytes:
    key = hashlib.sha256(b"stepwell cursor\0" + secret.encode()).digest()
    return hmac.new(key, context.encode() + b"\0" + data, hashlib.sha256).digest()[:_MAC_BYTES]


def seal(data: bytes, *, secret: str, context: str) -> str:
    """A cursor holding ``data``, valid only for the same ``context`` (e.g. the query)."""
    return encode_bytes(_mac(secret, context, data) + data)


def unseal(cursor: str, *, secret: str, context: str) -> bytes:
    """The data of a cursor :func:`seal` made for this context (422 for any other)."""
    raw = decode_bytes(cursor)
    mac, data = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
    if not data or not hmac.compare_digest(mac, _mac(secret, context, data)):
        raise _bad_cursor("is not a cursor this API returned for this listing")
    return data


def encode_position(position: dict[str, Any]) -> str:
    return encode_bytes(json.dumps(position, separators=(",", ":")).encode())


def decode_position(cursor: str, key: str, kind: type[str] | type[int]) -> str | int:
    """The ``key`` of the JSON position in a cursor (422 if it does not decode to one)."""
    try:
        position = json.loads(decode_bytes(cursor))
    except (UnicodeDecodeError, ValueError):
        raise _bad_cursor("is not a cursor this API returned") from None
    if not isinstance(position, dict) or set(position) != {key}:
        raise _bad_cursor("is not a cursor this API returned")
    value: str | int = position[key]
    if type(value) is not kind:
        raise _bad_cursor("is not a cursor this API returned")
    return value


def _bad_cursor(problem: str) -> Exception:
    return invalid(f"cursor {problem}", [Problem("/query/cursor", f"cursor {problem}")])
