"""Checking JSON values against JSON Schema 2020-12, with problems named by JSON pointer."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from step_sdk.errors import Problem

MAX_PROBLEMS = 20


def pointer(path: list[str | int] | tuple[str | int, ...], prefix: str = "") -> str:
    """RFC 6901 JSON pointer of ``path`` (``~`` and ``/`` escaped)."""
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in path)
    return prefix + "".join(f"/{part}" for part in escaped)


def schema_problems(schema: dict[str, Any], instance: Any, prefix: str = "") -> list[Problem]:
    """Every way ``instance`` breaks ``schema`` (at most :data:`MAX_PROBLEMS`), sorted by place."""
    validator = Draft202012Validator(schema)
    problems = [
        Problem(pointer(list(error.absolute_path), prefix), error.message)
        for error in validator.iter_errors(instance)
    ]
    problems.sort(key=lambda p: p.pointer)
    return problems[:MAX_PROBLEMS]
