"""Request bodies as JSON that every later part can carry: one strict parse for every route.

Python's :func:`json.loads` accepts more than JSON: ``NaN``, ``Infinity``, ``-Infinity``,
numbers that overflow to ``inf`` (``1e999``) and ``\\ud83d``-style escapes that decode to lone
surrogates (not Unicode text). Each of them passes a schema check and then breaks whatever stores,
encodes or prints the value later (a run's Temporal payload, PostgreSQL, a response). So they
are refused here, with a 422 naming the JSON pointer of every such value, before any route sees
the body.

Every router of the API uses :class:`StrictJsonRoute`, so request bodies that FastAPI parses
(models, ``Any`` fields) go through :func:`parse_json_body`; routes that read raw bytes
(webhook deliveries) call it themselves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from itertools import accumulate
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from step_sdk.errors import Problem
from step_sdk.json_values import json_value_problems
from ui_api.errors import ApiError

MAX_DEPTH = 64


_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEPS = bytes.maketrans(b"[]{}", b"\x01\xff\x01\xff")  # +1 / -1 as signed bytes


def _depth(body: bytes) -> int:
    """The nesting depth of valid JSON text, from its brackets outside strings.

    Counted on the bytes, in C (regular expression, ``translate``, ``accumulate``): a walk of
    the parsed value in Python costs several times more, on the event loop.
    """
    steps = _STRING.sub(b"", body).translate(_BRACKET_STEPS, _NOT_BRACKETS)
    return max(accumulate(memoryview(steps).cast("b")), default=0)


def _carriable(value: Any) -> bool:
    """Whether every number is finite and every text real Unicode, checked by encoding (fast);
    only a value that fails is walked to name each place (:func:`json_value_problems`)."""
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode()
    except (ValueError, UnicodeEncodeError):
        return False
    return True


def _refuse(message: str, problems: list[Problem]) -> ApiError:
    return ApiError(422, message, code="invalid", details=problems)


def parse_json_body(body: bytes, *, what: str = "body") -> Any:
    """``body`` parsed as strict JSON (RFC 8259 values that every store can carry).

    Raises:
        ApiError: 422 when the body is not JSON (not UTF-8 text, a syntax error, a number
            Python cannot read), nests deeper than :data:`MAX_DEPTH` levels, or holds
            non-finite numbers or lone surrogates; ``details`` point at each such value.
    """
    try:
        # UTF-8 only (RFC 8259 section 8.1), which also keeps the byte-level depth count right
        value = json.loads(body.decode("utf-8-sig"))
    except json.JSONDecodeError as exc:
        message = f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise _refuse(message, [Problem("", message)]) from None
    except (ValueError, RecursionError) as exc:  # not UTF-8, an int of 5000 digits, nesting
        message = f"{what} is not valid JSON: {str(exc) or type(exc).__name__}"
        raise _refuse(message, [Problem("", message)]) from None
    if _depth(body) > MAX_DEPTH:
        message = f"{what} nests deeper than {MAX_DEPTH} levels"
        raise _refuse(message, [Problem("", message)])
    if not _carriable(value) and (found := json_value_problems(value)):
        problems = [Problem(where, what_) for where, what_ in found]
        summary = "; ".join(f"{p.pointer or '/'}: {p.message}" for p in problems[:3])
        raise _refuse(f"{what} holds values JSON cannot carry: {summary}", problems)
    return value


class StrictJsonRequest(Request):
    """A request whose ``json()`` is :func:`parse_json_body` (what FastAPI calls for bodies)."""

    async def json(self) -> Any:
        if not hasattr(self, "_strict_json"):
            self._strict_json = parse_json_body(await self.body())
        return self._strict_json


class StrictJsonRoute(APIRoute):
    """An API route that parses JSON request bodies strictly (see the module docstring).

    :class:`ApiError` is an ``HTTPException``, which FastAPI passes on unchanged from body
    parsing, so the refusal keeps the API's error shape.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict_handler
