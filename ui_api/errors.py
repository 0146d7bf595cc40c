"""The API's one error shape, and the handlers that make every failure use it.

Every error answers ``{"error": {"code", "message", "details": [{"pointer", "message"}]}}``;
``details`` lists field problems with JSON pointers (into the request body, or ``/query/...``,
``/path/...``, ``/header/...``). A 503 always carries ``Retry-After``; Temporal failing to answer
(:class:`~temporalio.service.RPCError` that no route handled) is a 503, never a 404 or a 500,
and so is a bundle store that cannot be reached (:class:`~activities.bundles.BundleStoreError`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError

from activities.bundles import BundleStoreError
from step_sdk.errors import Problem
from ui_api.encodable import EncodableModel

log = logging.getLogger("stepwell.api")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    503: "unavailable",
}


RETRY_AFTER_S = 5


class ErrorDetail(EncodableModel):
    pointer: str
    message: str


class ErrorBody(EncodableModel):
    code: str
    message: str
    details: list[ErrorDetail] = []


class ErrorResponse(BaseModel):
    """What every failed request answers."""

    error: ErrorBody


class ApiError(StarletteHTTPException):
    """Raise to answer with the error shape.

    An ``HTTPException`` so that FastAPI passes it on unchanged when it is raised while a
    request body is parsed (see :mod:`ui_api.json_body`). A 503 gets ``Retry-After``.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: Iterable[Problem] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.headers: dict[str, str] = dict(headers or {})
        if status == 503:
            self.headers.setdefault("Retry-After", str(RETRY_AFTER_S))
        super().__init__(status, message, self.headers)
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message
        self.details = list(details)

    def __str__(self) -> str:
        return self.message


def not_found(kind: str, ident: str) -> ApiError:
    return ApiError(404, f"no {kind} {ident!r} in this workspace")


def temporal_unavailable(exc: RPCError) -> ApiError:
    """Temporal did not answer (down, unreachable, overloaded): 503, retry later."""
    return ApiError(
        503,
        f"the workflow engine (Temporal) did not answer ({exc.status.name}); retry later",
    )


def invalid(message: str, problems: Sequence[Problem]) -> ApiError:
    return ApiError(422, message, details=problems)


def error_response(
    status: int,
    code: str,
    message: str,
    details: Iterable[Problem] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(
        error=ErrorBody(
            code=code,
            message=message,
            details=[ErrorDetail(pointer=p.pointer, message=p.message) for p in details],
        )
    )
    return JSONResponse(body.model_dump(), status_code=status, headers=dict(headers or {}))


def _pointer(location: Sequence[Any]) -> str:
    parts = [str(part).replace("~", "~0").replace("/", "~1") for part in location]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return "/" + "/".join(parts) if parts else ""


def _validation_problems(exc: RequestValidationError) -> list[Problem]:
    problems = []
    for error in exc.errors():
        message = str(error.get("msg", "is invalid"))
        if error.get("type") == "json_invalid":
            message = f"body is not valid JSON: {error.get('ctx', {}).get('error', message)}"
        problems.append(Problem(_pointer(error.get("loc", ())), message))
    return problems


def install_error_handlers(app: FastAPI) -> None:
    """Make validation errors, HTTP errors and crashes answer with the one shape."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = _validation_problems(exc)
        summary = "; ".join(f"{p.pointer or '/'}: {p.message}" for p in problems[:3])
        return error_response(422, "invalid", f"invalid request: {summary}", problems)

    @app.exception_handler(RPCError)
    async def _temporal(request: Request, exc: RPCError) -> JSONResponse:
        log.warning("Temporal failed on %s %s: %s", request.method, request.url.path, exc)
        error = temporal_unavailable(exc)
        return error_response(error.status, error.code, error.message, (), error.headers)

    @app.exception_handler(BundleStoreError)
    async def _bundle_store(request: Request, exc: BundleStoreError) -> JSONResponse:
        # the details (bucket, settings to fix) are for the operator's log, not the caller
        log.warning("bundle store failed on %s %s: %s", request.method, request.url.path, exc)
        message = "the bundle store is unavailable; try again later"
        return error_response(503, "bundle_store_unavailable", message, (), {"Retry-After": "5"})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(exc.status_code, "error")
        return error_response(exc.status_code, code, str(exc.detail), (), exc.headers)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal", "internal error; the server log has details")
