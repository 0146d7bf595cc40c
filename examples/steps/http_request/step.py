"""http.request: send one HTTP request and return the status, headers and body."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Annotated, Any, Literal, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

from step_sdk import step

# What the step reads of a response body; the rest is dropped and ``truncated`` says so. It stays
# well under the step's output limit (512 KiB) once escaped as JSON.
MAX_BODY_BYTES = 256 * 1024
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class Response(TypedDict):
    """What came back. ``json`` is the parsed body when it is JSON, else ``text`` holds it."""

    status: int
    url: str
    headers: dict[str, str]
    json: NotRequired[Any]
    text: NotRequired[str]
    truncated: bool


@step(
    name="http.request",
    version="1.0.0",
    title="HTTP request",
    egress=["*", "*:80"],
    timeout_s=60,
    output_kb=512,
)
def request(
    url: Annotated[str, Field(pattern=r"^https?://", max_length=8192)],
    method: Method = "GET",
    headers: dict[str, Annotated[str, Field(max_length=8192)]] | None = None,
    json_body: Any = None,
    text_body: Annotated[str, Field(max_length=1_000_000)] | None = None,
    timeout_s: Annotated[float, Field(gt=0, le=55)] = 20,
    verify_tls: bool = True,
) -> Response:
    """Send ``method`` to ``url`` and return the response.

    Any public host on port 443 (https) or 80 (http) can be reached, if the operator allows
    steps to reach any public host (``STEPWELL_EGRESS=any-public``); private and local addresses
    never can. ``json_body`` is sent as JSON (``Content-Type: application/json``), or
    ``text_body`` as text. Redirects are followed. A 4xx or 5xx status is a result, not an error;
    a refused or failed connection is an error. ``verify_tls: false`` accepts any certificate
    (for a server with a self-signed one).
    """
    if json_body is not None and text_body is not None:
        raise ValueError("give json_body or text_body, not both")
    data: bytes | None = None
    sent = dict(headers or {})
    content_type = None
    if json_body is not None:
        data, content_type = json.dumps(json_body).encode(), "application/json"
    elif text_body is not None:
        data, content_type = text_body.encode(), "text/plain; charset=utf-8"
    if content_type and not any(name.lower() == "content-type" for name in sent):
        sent["Content-Type"] = content_type  # header names are case-insensitive (RFC 9110)
    prepared = urllib.request.Request(url, data=data, headers=sent, method=method)  # noqa: S310
    context = ssl.create_default_context()
    if not verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(prepared, timeout=timeout_s, context=context) as reply:  # noqa: S310
            return _response(reply.status, reply.url, dict(reply.headers.items()), reply)
    except urllib.error.HTTPError as error:  # a status, not a failure
        return _response(error.code, error.url, dict(error.headers.items()), error)
    except urllib.error.URLError as error:
        raise ConnectionError(f"{method} {url}: {error.reason}") from None


def _response(status: int, url: str, headers: dict[str, str], body: Any) -> Response:
    raw = body.read(MAX_BODY_BYTES + 1)
    truncated = len(raw) > MAX_BODY_BYTES
    raw = raw[:MAX_BODY_BYTES]
    result: Response = {"status": status, "url": url, "headers": headers, "truncated": truncated}
    content_type = headers.get("Content-Type", headers.get("content-type", ""))
    if "json" in content_type and not truncated:
        try:
            result["json"] = json.loads(raw)
            return result
        except ValueError:
            pass
    result["text"] = raw.decode("utf-8", errors="replace")
    return result
