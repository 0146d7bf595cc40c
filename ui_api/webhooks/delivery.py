"""What a webhook delivery is made of: a capped body, a JSON trigger, an idempotency key.

Everything here refuses bad input with an :class:`~ui_api.errors.ApiError` that says what was
wrong; nothing here touches the database or Temporal.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any, NoReturn

from fastapi import Request

from step_sdk.errors import Problem
from ui_api.errors import ApiError
from ui_api.json_body import parse_json_body

# Where a sender's delivery id is looked for, first match wins. ``Idempotency-Key`` is the
# explicit one; the others are what common senders put on every delivery and keep on retries
# (a generic sender's id, GitHub, GitLab, Standard Webhooks / Svix, a proxy's request id).
IDEMPOTENCY_HEADERS = (
    "Idempotency-Key",
    "X-Delivery-Id",
    "X-GitHub-Delivery",
    "X-Gitlab-Event-UUID",
    "Webhook-Id",
    "X-Request-Id",
)
MAX_KEY_LENGTH = 200
_DIGITS = re.compile(r"[0-9]{1,20}")


def _too_large(limit_kb: int, size: str) -> NoReturn:
    raise ApiError(413, f"body is {size}; this webhook accepts at most {limit_kb} KiB")


async def read_capped_body(request: Request, limit_kb: int) -> bytes:
    """The raw body, refused with 413 before more than ``limit_kb`` KiB is ever held.

    A declared ``Content-Length`` over the cap is refused without reading; a body without one
    (chunked) or one that lies is counted as it arrives and refused as soon as it is too big.
    """
    limit = limit_kb * 1024
    declared = request.headers.get("content-length")
    if declared is not None:
        if not _DIGITS.fullmatch(declared.strip()):
            raise ApiError(400, "Content-Length must be a number of bytes")
        if int(declared) > limit:
            _too_large(limit_kb, f"{int(declared)} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            _too_large(limit_kb, f"over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _is_json_media_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media in ("application/json", "text/json") or media.endswith("+json")


def parse_trigger(body: bytes, content_type: str | None) -> Any:
    """The body as JSON: the run's trigger. 415 for another media type, 422 for bad JSON or
    values JSON cannot carry (see :func:`ui_api.json_body.parse_json_body`)."""
    if content_type and not _is_json_media_type(content_type):
        raise ApiError(
            415,
            f"Content-Type must be application/json (or another JSON type), not {content_type!r}",
        )
    if not body.strip():
        raise ApiError(
            422, "body is empty: send a JSON value (e.g. {})", details=[Problem("", "empty body")]
        )
    return parse_json_body(body)


def idempotency_key(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """``(header, key)`` from the first idempotency header present, or ``None``."""
    for header in IDEMPOTENCY_HEADERS:
        key = headers.get(header)
        if key is None:
            continue
        if not key.strip() or len(key) > MAX_KEY_LENGTH:
            message = f"must be 1 to {MAX_KEY_LENGTH} characters (got {len(key)})"
            raise ApiError(
                422,
                f"{header} {message}",
                details=[Problem(f"/header/{header}", message)],
            )
        return header, key
    return None


def delivery_run_id(webhook_id: str, key: str) -> str:
    """The run id of a delivery with ``key``: the same for every redelivery to this webhook.

    Keys are scoped by the webhook id (and by this function's own prefix, apart from other
    idempotent starts), so two webhooks using the same key never share a run.
    """
    digest = hashlib.sha256(f"stepwell-webhook\0{webhook_id}\0{key}".encode()).hexdigest()
    return f"run_{digest[:20]}"
