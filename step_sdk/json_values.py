"""Which values JSON can carry faithfully: finite numbers and real Unicode text.

Python's ``json`` happily writes ``NaN``/``Infinity`` (not JSON) and lone surrogates such as
``"\\ud83d"`` or the ``"caf\\udce9.txt"`` of a surrogate-escaped file name (not Unicode text:
it cannot be encoded as UTF-8). Such values pass a JSON Schema check, then break whatever stores,
encodes or prints them later. Standard library only: the in-container runner imports this.
"""

from __future__ import annotations

import math
from typing import Any

MAX_PROBLEMS = 20


def has_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate (a code point that UTF-8 cannot encode)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def printable(text: str) -> str:
    """``text`` with lone surrogates written as ``\\udXXX`` escapes, so it can always be encoded."""
    if not has_surrogate(text):
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _pointer_part(part: str | int) -> str:
    return printable(str(part)).replace("~", "~0").replace("/", "~1")


def json_value_problems(value: Any, *, limit: int = MAX_PROBLEMS) -> list[tuple[str, str]]:
    """``(JSON pointer, problem)`` for each number or text in ``value`` that JSON cannot carry.

    Walks dicts, lists and tuples without recursion (depth is checked elsewhere). Pointers and
    messages are always encodable (surrogates shown as escapes). At most ``limit`` problems,
    sorted by pointer.
    """
    problems: list[tuple[str, str]] = []
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack and len(problems) < limit:
        item, where = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            problems.append((where, f"{item!r} is not a JSON number (only finite numbers are)"))
        elif isinstance(item, str):
            if has_surrogate(item):
                problems.append((where, "the text " + _surrogate_message(item)))
        elif isinstance(item, dict):
            for key, child in item.items():
                place = f"{where}/{_pointer_part(key)}"
                if isinstance(key, str) and has_surrogate(key):
                    problems.append((place, "the key " + _surrogate_message(key)))
                stack.append((child, place))
        elif isinstance(item, list | tuple):
            stack.extend((child, f"{where}/{index}") for index, child in enumerate(item))
    problems.sort()
    return problems


def _surrogate_message(text: str) -> str:
    first = next(c for c in text if 0xD800 <= ord(c) <= 0xDFFF)
    return (
        f"contains a lone surrogate \\u{ord(first):04x}, which is not Unicode text "
        "(decode bytes with a real encoding, e.g. UTF-8 with errors='replace')"
    )


def describe(problems: list[tuple[str, str]]) -> str:
    """One line: ``/pointer: problem; ...`` (``/`` for the whole value)."""
    return "; ".join(f"{where or '/'}: {what}" for where, what in problems)
