"""A small client for the Stepwell HTTP API, as the CLI uses it.

The base URL comes from ``--api`` or ``STEPWELL_API_URL`` (default ``http://localhost:8000``),
the key from ``--key`` or ``STEPWELL_API_KEY``. Every failure, whether the API answered with its
error shape, something else answered, or nothing answered, becomes an :class:`ApiClientError`
whose text is one line a person can act on.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any

import httpx

DEFAULT_API_URL = "http://localhost:8000"
API_URL_ENV = "STEPWELL_API_URL"
API_KEY_ENV = "STEPWELL_API_KEY"
_MAX_DETAILS = 5
_MAX_BODY_ECHO = 200


class ApiClientError(Exception):
    """A request failed; ``str()`` is one line for a person."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ApiUsageError(ApiClientError):
    """The client cannot even be set up: no key, a URL that is not http(s)."""


def _one_line(text: str) -> str:
    """Server text made safe for one terminal line (no newlines or control characters)."""
    return "".join(c if c.isprintable() else " " for c in text).strip()


def describe_error(response: httpx.Response) -> str:
    """One line for a failed response: the API's message and any field problems it named."""
    status = response.status_code
    try:
        error = response.json()["error"]
        message = _one_line(str(error["message"]))
        details = [d for d in error.get("details") or [] if isinstance(d, dict)]
    except (ValueError, KeyError, TypeError):
        body = _one_line(response.text)[:_MAX_BODY_ECHO] or response.reason_phrase
        return f"HTTP {status} from {response.request.url}: {body}"
    extra = [
        f"{_one_line(str(d.get('pointer') or '/'))}: {_one_line(str(d.get('message', '')))}"
        for d in details
        if _one_line(str(d.get("message", ""))) not in message
    ]
    line = f"{message} (HTTP {status})"
    if extra:
        line += " [" + "; ".join(extra[:_MAX_DETAILS]) + "]"
    retry_after = response.headers.get("Retry-After", "")
    if retry_after.isdigit():  # a 503 or 429: the server says when trying again makes sense
        line += f"; retry in {int(retry_after)} s"
    return line


class ApiClient:
    """Authenticated requests to one Stepwell API."""

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {key}"},
            timeout=timeout,
            transport=transport,
        )

    @classmethod
    def from_options(cls, api: str | None, key: str | None) -> ApiClient:
        """A client for ``--api``/``--key``, falling back to the environment, then defaults.

        Raises:
            ApiUsageError: no key anywhere, a key that cannot be sent, or a URL that is not
                http(s).
        """
        base_url = api or os.environ.get(API_URL_ENV) or DEFAULT_API_URL
        if not base_url.startswith(("http://", "https://")):
            raise ApiUsageError(
                f"--api {base_url!r} is not an http:// or https:// URL "
                f"(e.g. {DEFAULT_API_URL}; or set {API_URL_ENV})"
            )
        key = key or os.environ.get(API_KEY_ENV)
        if not key:
            raise ApiUsageError(f"no API key: pass --key or set {API_KEY_ENV}")
        if not key.isascii() or not key.isprintable() or " " in key:
            raise ApiUsageError("the API key has spaces or characters that cannot be sent")
        return cls(base_url, key)

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request; return the response if it succeeded, else raise ApiClientError."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise ApiClientError(
                f"the Stepwell API at {self.base_url} did not answer in time"
            ) from None
        except httpx.TransportError as exc:
            raise ApiClientError(
                f"cannot reach the Stepwell API at {self.base_url} ({exc or type(exc).__name__});"
                f" is it running ('stepwell up'), and is --api / {API_URL_ENV} right?"
            ) from None
        if response.is_error:
            raise ApiClientError(describe_error(response), response.status_code)
        return response

    def push_bundle(self, data: bytes, filename: str) -> tuple[dict[str, Any], bool]:
        """Upload a bundle: the stored version, and False if it was pushed before unchanged."""
        response = self.request(
            "POST", "/v1/steps", files={"bundle": (filename, data, "application/gzip")}
        )
        answer: dict[str, Any] = response.json()
        return answer, response.status_code == httpx.codes.CREATED
