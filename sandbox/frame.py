"""Strict parsing of the one result frame a step container writes on stdout (contract 2)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sandbox.errors import ErrorType
from step_sdk.json_values import describe, json_value_problems, printable

# Error types a frame may claim. A frame can only ever blame the step itself; infrastructure
# failures, timeouts and OOM are decided by the host.
_FRAME_ERROR_TYPES = {
    ErrorType.STEP,
    ErrorType.INPUT_VALIDATION,
    ErrorType.OUTPUT_VALIDATION,
    ErrorType.OUTPUT_LIMIT,
    ErrorType.ARTIFACT_LIMIT,
}
# How much of a step's own error text is kept. The launcher cuts to these *after* redacting
# secrets (a cut first could leave the start of one behind).
MAX_ERROR_TEXT = 64 * 1024
MAX_EXCEPTION_NAME = 200


class FrameError(ValueError):
    """The result channel does not hold exactly one well-formed frame."""

    def __init__(self, error_type: ErrorType, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


@dataclass(frozen=True)
class Frame:
    """A parsed result frame: an output, or an error the step reported about itself."""

    ok: bool
    output: Any = None
    error_type: ErrorType = ErrorType.STEP
    exception: str = ""
    message: str = ""
    traceback: str = ""


def json_depth(text: str) -> int:
    """Maximum nesting of arrays and objects in JSON ``text`` (brackets inside strings ignored)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_frame(data: bytes, *, max_depth: int) -> Frame:
    """Parse the bytes read from the result channel.

    Raises:
        FrameError: empty channel, more than one line, invalid UTF-8 or JSON, too deep, a
            shape other than the two frames of contract 2, or an output holding values JSON
            cannot carry (non-finite numbers, lone surrogates; named by JSON pointer).
    """
    if not data:
        raise FrameError(ErrorType.STEP, "the step exited without reporting a result")
    if not data.endswith(b"\n") or data.count(b"\n") != 1:
        raise FrameError(
            ErrorType.OUTPUT_VALIDATION, "the result channel holds more than one frame"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise FrameError(ErrorType.OUTPUT_VALIDATION, "the result is not valid UTF-8") from None
    # Check nesting before parsing so a hostile frame cannot exhaust the parser's recursion.
    # The envelope itself adds two levels ({"output": ...} inside the frame object).
    if json_depth(text) > max_depth + 2:
        raise FrameError(
            ErrorType.OUTPUT_LIMIT, f"the output is nested deeper than {max_depth} levels"
        )
    try:
        # NaN, Infinity and 1e999 parse to floats here so the check below can name their place.
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise FrameError(ErrorType.OUTPUT_VALIDATION, f"the result is not JSON: {exc}") from None
    frame = _shape(document)
    if frame.ok:
        problems = json_value_problems(frame.output)
        if problems:
            raise FrameError(ErrorType.OUTPUT_VALIDATION, describe(problems))
    return frame


def _shape(document: Any) -> Frame:
    malformed = FrameError(ErrorType.OUTPUT_VALIDATION, "the result frame is malformed")
    if not isinstance(document, dict):
        raise malformed
    if document.get("ok") is True and set(document) == {"ok", "output"}:
        return Frame(ok=True, output=document["output"])
    error = document.get("error")
    if document.get("ok") is not False or set(document) != {"ok", "error"}:
        raise malformed
    if not isinstance(error, dict) or not all(
        isinstance(error.get(key), str) for key in ("type", "exception", "message", "traceback")
    ):
        raise malformed
    try:
        claimed = ErrorType(error["type"])
    except ValueError:
        claimed = ErrorType.STEP
    return Frame(
        ok=False,
        error_type=claimed if claimed in _FRAME_ERROR_TYPES else ErrorType.STEP,
        exception=printable(error["exception"]),
        message=printable(error["message"]),
        traceback=printable(error["traceback"]),
    )
