"""json.transform: query and reshape JSON with a JMESPath expression."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field
from typing_extensions import TypedDict

from step_sdk import step

if TYPE_CHECKING:
    from jmespath.exceptions import ParseError


class Transformed(TypedDict):
    """What the expression selected: any JSON value (null when nothing matched)."""

    result: Any


@step(
    name="json.transform",
    version="1.0.1",
    title="Transform JSON with JMESPath",
    requirements=["jmespath==1.0.1"],
    timeout_s=10,
    memory_mb=512,
    output_kb=1536,
    examples=[
        {
            "input": {
                "data": {"people": [{"name": "Ada", "age": 36}, {"name": "Alan", "age": 41}]},
                "expression": "people[?age > `40`].name",
            },
            "output": {"result": ["Alan"]},
        },
        {
            "input": {
                "data": {"orders": [{"id": 1, "total": 9.5}, {"id": 2, "total": 20}]},
                "expression": "{count: length(orders), sum: sum(orders[].total)}",
            },
            "output": {"result": {"count": 2, "sum": 29.5}},
        },
        {
            "input": {"data": {"a": 1}, "expression": "missing.key"},
            "output": {"result": None},
        },
    ],
)
def transform(
    data: Annotated[Any, Field(description="Any JSON value.")],
    expression: Annotated[
        str, Field(min_length=1, max_length=10_000, description="A JMESPath expression.")
    ],
) -> Transformed:
    """Evaluate the JMESPath ``expression`` (https://jmespath.org) against ``data``.

    An expression that does not parse, or that fails on this data (a function given the wrong
    type, an unknown function), fails the step with a one-line ``ValueError``.
    """
    # Imported here, not at the top: `stepwell step build` imports this module on the author's
    # machine to read the decorator, where the requirement need not be installed.
    import jmespath
    from jmespath.exceptions import JMESPathError, ParseError

    try:
        compiled = jmespath.compile(expression)
    except ParseError as exc:
        raise ValueError(
            f"invalid JMESPath expression {expression!r}: {_parse_problem(exc)}"
        ) from None
    try:
        result = compiled.search(data)
    except JMESPathError as exc:
        raise ValueError(f"JMESPath expression {expression!r} failed: {_first_line(exc)}") from None
    return {"result": result}


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _parse_problem(exc: ParseError) -> str:
    """One line saying what is wrong where; jmespath's own message spans three lines."""
    from jmespath.exceptions import IncompleteExpressionError, LexerError

    position = exc.lex_position
    if isinstance(exc, IncompleteExpressionError):
        return f"it ends too early (at position {position})"
    if isinstance(exc, LexerError):
        return f"{str(exc.message).lower()} at position {position}"
    return f"unexpected {exc.token_value!r} at position {position}"
