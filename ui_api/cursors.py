"""Opaque page cursors: what a client passes back as ``cursor`` to get the next page.

A cursor is URL-safe base64 of bytes the server chose (a JSON position, or Temporal's own page
token). Clients must treat it as opaque; a cursor that does not decode is a 422 naming
``/query/cursor``.
"""

from __future__ import annotations

import base64
import binascii
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
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise _bad_cursor("is not a cursor this API returned") from None


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
