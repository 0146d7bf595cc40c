"""``{{ JMESPath }}`` expressions in flow definitions (contract 5).

A value that is exactly one expression keeps its JSON type (``null`` included); expressions inside
a longer string are rendered as text, and one that gives ``null`` there is an error naming the
missing path (opt into a default with ``||`` or ``not_null(...)``). Ordering comparisons
(``<``, ``<=``, ``>``, ``>=``) compare two numbers or two strings; with a ``null`` side they give
``null`` (false in an ``if``); any other mix is an error ("cannot compare string with number").
Evaluation uses the ``jmespath`` library over the scope
``{trigger, steps: {<id>: {output, error, status}}, vars, item, index}``. Pure and deterministic:
safe inside a Temporal workflow. Every failure of evaluation, whatever raised it, leaves as
:class:`ExpressionError`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.visitor import TreeInterpreter

_EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_WHOLE = re.compile(r"^\s*\{\{(.*?)\}\}\s*$", re.DOTALL)


class ExpressionError(ValueError):
    """An expression does not parse, or failed to evaluate.

    ``path`` is where the failing value sits inside what was rendered (e.g. ``("with", "text")``),
    empty when unknown; ``reason`` is the message without the path.
    """

    def __init__(self, reason: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path


_OPERATORS = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


def json_type(value: Any) -> str:
    """The JSON type name of a value (``string``, ``number``, ``boolean``, ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


class _Interpreter(TreeInterpreter):  # type: ignore[misc]  # jmespath has no type hints
    """jmespath's interpreter with ordering comparisons that never raise a Python error."""

    def visit_comparator(self, node: dict[str, Any], value: Any) -> Any:
        operator = node["value"]
        if operator not in _OPERATORS:
            return super().visit_comparator(node, value)
        left = self.visit(node["children"][0], value)
        right = self.visit(node["children"][1], value)
        if left is None or right is None:
            return None  # a missing value compares as null: false in an ``if``
        kinds = json_type(left), json_type(right)
        if kinds not in (("number", "number"), ("string", "string")):
            raise ExpressionError(
                f"cannot compare {kinds[0]} with {kinds[1]} ({_OPERATORS[operator]})"
            )
        return self.COMPARATOR_FUNC[operator](left, right)


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
    except Exception as exc:  # e.g. RecursionError on absurd nesting: still a parse failure
        raise ExpressionError(
            f"expression {source!r} does not parse: {type(exc).__name__}: {exc}"
        ) from None


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
    """Evaluate one expression over ``scope``.

    Raises:
        ExpressionError: it does not parse, or evaluating it raised anything at all (a JMESPath
            type error, a comparison of a string with a number, a Python error inside jmespath).
    """
    parsed = compile_expression(source)
    try:
        return _Interpreter().visit(parsed.parsed, scope)
    except ExpressionError as exc:
        raise ExpressionError(f"expression {source!r} failed: {exc.reason}") from None
    except JMESPathError as exc:
        reason = " ".join(str(exc).split())
        raise ExpressionError(f"expression {source!r} failed: {reason}") from None
    except Exception as exc:  # whatever else jmespath raises is still this expression's fault
        raise ExpressionError(
            f"expression {source!r} failed: {type(exc).__name__}: {exc}"
        ) from None


def _path_segments(node: dict[str, Any]) -> list[str | int] | None:
    """``a.b[0].c`` as ``["a", "b", 0, "c"]``; None for anything but a plain path."""
    kind, children = node.get("type"), node.get("children") or []
    if kind == "field":
        return [str(node["value"])]
    if kind == "subexpression" and children:
        segments: list[str | int] = []
        for child in children:
            part = _path_segments(child)
            if part is None:
                return None
            segments += part
        return segments
    if kind == "index_expression" and len(children) == 2 and children[1].get("type") == "index":
        left = _path_segments(children[0])
        return [*left, int(children[1]["value"])] if left is not None else None
    return None


def missing_reason(source: str, scope: dict[str, Any]) -> str:
    """Why ``source`` gave null: the first missing part of a plain path, else the expression."""
    segments = _path_segments(compile_expression(source).parsed)
    if segments is None:
        return f"expression {source!r} gave null"
    value: Any = scope
    text = ""
    for segment in segments:
        if isinstance(segment, int):
            text += f"[{segment}]"
            ok = isinstance(value, list) and -len(value) <= segment < len(value)
            value = value[segment] if ok else None
        else:
            text += f".{segment}" if text else segment
            value = value.get(segment) if isinstance(value, dict) else None
        if value is None:
            break
    return f"{text} is missing (null)"


def _as_text(source: str, scope: dict[str, Any]) -> str:
    value = evaluate(source, scope)
    if value is None:
        raise ExpressionError(
            f"{missing_reason(source, scope)} in text; to allow that, give a default, "
            f"e.g. {{{{ {source} || '' }}}}"
        )
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def whole_source(value: Any) -> str | None:
    """The expression of a string that is exactly one expression (it keeps its JSON type), or
    None for anything else."""
    if not isinstance(value, str) or len(_EXPRESSION.findall(value)) != 1:
        return None
    whole = _WHOLE.match(value)
    return whole.group(1).strip() if whole else None


def render(value: Any, scope: dict[str, Any], path: tuple[str | int, ...] = ()) -> Any:
    """Render every expression inside a JSON value (whole-value ones keep their type).

    ``path`` is where ``value`` sits; it prefixes the ``path`` of a raised error.

    Raises:
        ExpressionError: an expression failed, or an embedded one gave null; ``path`` says where.
    """
    if isinstance(value, str):
        try:
            source = whole_source(value)
            if source is not None:
                return evaluate(source, scope)
            return _EXPRESSION.sub(lambda m: _as_text(m.group(1).strip(), scope), value)
        except ExpressionError as exc:
            raise ExpressionError(exc.reason, path) from None
        except Exception as exc:  # rendering must only ever fail as an expression error
            raise ExpressionError(f"{type(exc).__name__}: {exc}", path) from None
    if isinstance(value, dict):
        return {key: render(item, scope, (*path, key)) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, scope, (*path, index)) for index, item in enumerate(value)]
    return value


def _accepts_null(schema: Any) -> bool:
    """Whether a JSON Schema plainly accepts null (when unsure, True: the schema decides later)."""
    if not isinstance(schema, dict):
        return True
    kinds = schema.get("type")
    if kinds is not None:
        return kinds == "null" or (isinstance(kinds, list) and "null" in kinds)
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            return any(_accepts_null(branch) for branch in schema[key])
    if "enum" in schema or "const" in schema:
        return None in (schema.get("enum") or [schema.get("const")])
    return True


def render_input(
    with_: dict[str, Any], scope: dict[str, Any], input_schema: dict[str, Any]
) -> dict[str, Any]:
    """A step's ``with`` rendered as its input.

    An input that is one whole expression giving null is left out when the step does not require
    it, so the step's own default applies. A required one is passed as null if its schema
    accepts null; otherwise it is an error naming the missing path. Error paths start with
    ``"with"``.

    Raises:
        ExpressionError: an expression failed, or gave null where a value is needed.
    """
    required = set(input_schema.get("required") or [])
    properties = input_schema.get("properties") or {}
    rendered: dict[str, Any] = {}
    for key, value in with_.items():
        result = render(value, scope, ("with", key))
        source = whole_source(value)
        if result is None and source is not None:
            if key not in required:
                continue
            if not _accepts_null(properties.get(key) if isinstance(properties, dict) else None):
                reason = f"{missing_reason(source, scope)}; the step requires {key!r}"
                raise ExpressionError(reason, ("with", key))
        rendered[key] = result
    return rendered


def truthy(value: Any) -> bool:
    """JMESPath truthiness: false, null, empty string/list/object are false."""
    if value is None or value is False:
        return False
    return not (isinstance(value, str | list | dict) and len(value) == 0)
