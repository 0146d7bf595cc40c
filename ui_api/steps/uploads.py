"""Reading one file field of a multipart upload without ever holding an oversized body.

FastAPI's ``UploadFile`` parameters parse (and spool) the whole body before the endpoint runs,
so a size limit there comes too late. Here the body is refused on its declared
``Content-Length`` before a byte is read, and the stream fed to the multipart parser stops
with a 413 as soon as it goes past the limit.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from step_sdk.errors import Problem
from ui_api.errors import ApiError, invalid

# Room for the multipart framing (boundaries, part headers) and a few small text fields.
MULTIPART_OVERHEAD = 64 * 1024
MAX_TEXT_FIELDS = 16


def _too_large(field: str, max_bytes: int, found: str) -> ApiError:
    message = f"the upload is {found}; the limit for {field!r} is {max_bytes // 1024} KiB"
    return ApiError(413, message, details=[Problem(f"/{field}", message)])


def file_form_schema(field: str, description: str) -> dict[str, object]:
    """The OpenAPI ``requestBody`` of a multipart form with one required file field."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": [field],
                        "properties": {
                            field: {
                                "type": "string",
                                "format": "binary",
                                "description": description,
                            }
                        },
                    }
                }
            },
        }
    }


async def read_file_field(request: Request, field: str, max_bytes: int) -> bytes:
    """The bytes of the multipart file field ``field``, at most ``max_bytes`` of them.

    Raises:
        ApiError: 415 if the body is not multipart/form-data, 413 if it is too large, 400 if
            the multipart framing is broken, 422 if the field is missing or not a file.
    """
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        message = (
            f"send multipart/form-data with a file field {field!r}; "
            f"found Content-Type {content_type or 'none'!r}"
        )
        raise ApiError(415, message, details=[Problem("/header/Content-Type", message)])
    limit = max_bytes + MULTIPART_OVERHEAD
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, f"Content-Length {declared!r} is not a number")
        if int(declared) > limit:
            raise _too_large(field, max_bytes, f"{declared} bytes")

    async def capped() -> AsyncGenerator[bytes, None]:
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > limit:
                raise _too_large(field, max_bytes, f"more than {limit} bytes")
            yield chunk

    parser = MultiPartParser(
        request.headers,
        capped(),
        max_files=1,
        max_fields=MAX_TEXT_FIELDS,
        max_part_size=MULTIPART_OVERHEAD,
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ApiError(400, f"the multipart body is malformed: {exc.message}") from None
    try:
        value = form.get(field)
        if value is None:
            raise invalid(
                f"the upload has no {field!r} field",
                [Problem(f"/{field}", "is required: a file part holding the bundle")],
            )
        if not isinstance(value, UploadFile):
            raise invalid(
                f"{field!r} must be a file",
                [Problem(f"/{field}", "must be a file part (with a filename), not a text field")],
            )
        data = await value.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise _too_large(field, max_bytes, f"more than {max_bytes} bytes")
        return data
    finally:
        await form.close()
