"""A JavaScript step's ``step.json``: its manifest fields as data, read without running any JS.

``step.json`` holds what ``@step`` holds for a Python step::

    {
      "name": "dates.format",
      "version": "1.0.0",
      "title": "Format a date",
      "entrypoint": "step.mjs",
      "dependencies": {"dayjs": "1.11.13"},
      "input_schema": {"type": "object", "properties": {"date": {"type": "string"}}},
      "output_schema": {"type": "object"},
      "limits": {"timeout_s": 10},
      "examples": [{"input": {"date": "2024-01-02"}, "output": {"text": "2 January 2024"}}]
    }

The runtime is ``node20`` (a ``runtime`` field may say so, nothing else); ``entrypoint``
defaults to ``step.mjs``; ``dependencies`` (name -> exact version) become the manifest's sorted
``name@version`` requirements. Every error names the JSON pointer of the field in ``step.json``
(and the line and column for JSON that does not parse).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from step_sdk.errors import Problem
from step_sdk.json_values import json_value_problems
from step_sdk.manifest import NEW_MANIFEST, Manifest
from step_sdk.npm_requirements import parse_dependencies
from step_sdk.requirements import RequirementError
from step_sdk.runtimes import NODE
from step_sdk.validation import pointer

STEP_JSON = "step.json"
DEFAULT_ENTRYPOINT = "step.mjs"
MAX_STEP_JSON_BYTES = 1024 * 1024
# The manifest's fields that step.json may set; "runtime" and "requirements" are derived.
FIELDS = (
    "name",
    "version",
    "title",
    "description",
    "entrypoint",
    "input_schema",
    "output_schema",
    "dependencies",
    "limits",
    "retry",
    "secrets",
    "egress",
    "examples",
)
# Ignored: editors use "$schema" to find a JSON Schema of the file.
_IGNORED = ("$schema",)


class StepJsonError(ValueError):
    """``step.json`` is not a valid step definition; ``problems`` name each field."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        described = (f"{p.pointer}: {p.message}" if p.pointer else p.message for p in problems)
        super().__init__(f"{STEP_JSON}: " + "; ".join(described))


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise ValueError(f"the key {key!r} appears twice in one object")
        document[key] = value
    return document


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_document(raw: bytes) -> dict[str, Any]:
    """Parse ``step.json`` bytes into an object.

    Raises:
        StepJsonError: too big, not UTF-8, not JSON (line and column), a duplicate key, ``NaN``
            or ``Infinity``, or not an object.
    """
    if len(raw) > MAX_STEP_JSON_BYTES:
        raise StepJsonError([Problem("", f"it is {len(raw)} bytes; at most {MAX_STEP_JSON_BYTES}")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StepJsonError([Problem("", f"it is not UTF-8 text (byte {exc.start})")]) from None
    try:
        document = json.loads(
            text, object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant
        )
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise StepJsonError([Problem("", f"not valid JSON at {where}: {exc.msg}")]) from None
    except ValueError as exc:
        raise StepJsonError([Problem("", f"not valid JSON: {exc}")]) from None
    except RecursionError:
        raise StepJsonError([Problem("", "it is nested too deeply")]) from None
    if not isinstance(document, dict):
        found = type(document).__name__
        raise StepJsonError([Problem("", f"it must be a JSON object, not {found}")])
    return document


def _unknown_fields(document: dict[str, Any]) -> list[Problem]:
    problems = []
    for key in document:
        if key in FIELDS or key in _IGNORED:
            continue
        if key == "runtime":
            if document[key] != NODE:
                problems.append(
                    Problem("/runtime", f"a step.json step runs on {NODE!r}, not {document[key]!r}")
                )
            continue
        hint = (
            ': npm packages go in "dependencies", e.g. {"dayjs": "1.11.13"}'
            if key == "requirements"
            else f"; known fields: {', '.join(FIELDS)}"
        )
        problems.append(Problem(pointer([key]), f"unknown field {key!r}{hint}"))
    return problems


def _pointer_of(location: Iterable[str | int]) -> str:
    parts = list(location)
    if parts[:1] == ["requirements"]:
        parts[0] = "dependencies"
    return pointer(parts)


def _validation_problems(exc: ValidationError) -> list[Problem]:
    problems = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] != "value_error" and "input" in error:
            found = json.dumps(error["input"], ensure_ascii=False, default=str)
            message += f" (found {found if len(found) <= 60 else found[:57] + '...'})"
        problems.append(Problem(_pointer_of(error["loc"]), message))
    return problems


def manifest_from_document(document: dict[str, Any]) -> Manifest:
    """The manifest that a parsed ``step.json`` describes (``runtime`` is ``node20``).

    Raises:
        StepJsonError: every problem found, each named by its pointer in ``step.json``.
    """
    problems = [Problem(p, m) for p, m in json_value_problems(document)]
    problems += _unknown_fields(document)
    fields = {k: v for k, v in document.items() if k in FIELDS}
    fields.setdefault("entrypoint", DEFAULT_ENTRYPOINT)
    try:
        fields["requirements"] = parse_dependencies(fields.pop("dependencies", {}))
    except RequirementError as exc:
        where, _, message = str(exc).partition(": ")
        problems.append(Problem(where, message))
        fields["requirements"] = ()
    try:
        # Strict, as JSON: `true` is not a number, "512" is not an integer (lax validation
        # would quietly turn them into a 1 s timeout and 512 MB); lists still fill tuples.
        manifest = Manifest.model_validate_json(
            json.dumps({**fields, "runtime": NODE}), strict=True, context=NEW_MANIFEST
        )
    except ValidationError as exc:
        problems += _validation_problems(exc)
    except RecursionError:
        problems.append(Problem("", "it is nested too deeply"))
    if problems:
        raise StepJsonError(sorted(problems, key=lambda p: p.pointer))
    return manifest


def load_manifest(raw: bytes) -> Manifest:
    """Parse ``step.json`` bytes and build the manifest they describe.

    Raises:
        StepJsonError: see :func:`parse_document` and :func:`manifest_from_document`.
    """
    return manifest_from_document(parse_document(raw))
