"""``{{ JMESPath }}`` expressions in flow definitions (contract 5).

A value that is exactly one expression keeps its JSON type; expressions inside a longer string
are rendered as text. Evaluation uses the ``jmespath`` library over the scope
``{trigger, steps: {<id>: {output, error, status}}, vars, item, index}``. Pure and deterministic:
safe inside a Temporal workflow.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

_EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_WHOLE = re.compile(r"^\s*\{\{(.*?)\}\}\s*$", re.DOTALL)


class ExpressionError(ValueError):
    """An expression does not parse, or failed to evaluate."""


def expressions_in(text: str) -> list[str]:
    """The expression sources inside ``text`` (stripped)."""
    return [match.strip() for match in _EXPRESSION.findall(text)]


def walk_strings(
    value: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string inside a JSON value, with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from walk_strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk_strings(item, (*path, index))


def condition_source(text: str) -> str:
    """The expression of an ``if``/``foreach`` value: ``{{ expr }}`` or a bare ``expr``."""
    sources = expressions_in(text)
    return sources[0] if len(sources) == 1 else text.strip()


def has_expression(value: Any) -> bool:
    """Whether a JSON value contains any ``{{ }}`` expression."""
    return any(_EXPRESSION.search(text) for _, text in walk_strings(value))


def compile_expression(source: str) -> Any:
    """Parse one expression; raise :class:`ExpressionError` with the parser's reason."""
    if not source:
        raise ExpressionError("empty expression")
    try:
        return jmespath.compile(source)
    except JMESPathError as exc:
        reason = str(exc).splitlines()[0]
        raise ExpressionError(f"expression {source!r} does not parse: {reason}") from None


def referenced_steps(source: str) -> set[str]:
    """Ids of the steps an expression reads (``steps.<id>...``)."""
    found: set[str] = set()

    def visit(node: Any) -> None:
        if not isinstance(node, dict):
            return
        children = node.get("children") or []
        if node.get("type") == "subexpression" and len(children) >= 2:
            first, second = children[0], children[1]
            if (
                isinstance(first, dict)
                and first.get("type") == "field"
                and first.get("value") == "steps"
                and isinstance(second, dict)
                and second.get("type") == "field"
            ):
                found.add(str(second["value"]))
        for child in children:
            visit(child)

    visit(compile_expression(source).parsed)
    return found


def evaluate(source: str, scope: dict[str, Any]) -> Any:
    """Evaluate one expression over ``scope``."""
    try:
        return compile_expression(source).search(scope)
    except JMESPathError as exc:
        raise ExpressionError(f"expression {source!r} failed: {exc}") from None


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def render(value: Any, scope: dict[str, Any]) -> Any:
    """Render every expression inside a JSON value (whole-value ones keep their type)."""
    if isinstance(value, str):
        whole = _WHOLE.match(value)
        if whole and len(_EXPRESSION.findall(value)) == 1:
            return evaluate(whole.group(1).strip(), scope)
        return _EXPRESSION.sub(lambda m: _as_text(evaluate(m.group(1).strip(), scope)), value)
    if isinstance(value, dict):
        return {key: render(item, scope) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, scope) for item in value]
    return value


def truthy(value: Any) -> bool:
    """JMESPath truthiness: false, null, empty string/list/object are false."""
    if value is None or value is False:
        return False
    return not (isinstance(value, str | list | dict) and len(value) == 0)
