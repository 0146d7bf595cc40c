"""Values made safe to answer: whatever a store holds, a response can always be encoded.

The edges refuse what JSON cannot carry (:mod:`ui_api.json_body`), but stored values can still
hold it: a run's Temporal history written by a step or by an older version, a row saved before
the edges were strict. Encoding such a value (pydantic, :func:`json.dumps`) raises, and a read
would answer 500 for ever. So read models and event data pass through :func:`encodable`:

- a lone surrogate in a text or a key is written as its ``\\udXXX`` escape (visible, encodable);
- a non-finite number (``NaN``, ``Infinity``) becomes ``null``, as FastAPI itself does.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime, time
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from step_sdk.json_values import printable


def encodable(value: Any) -> Any:
    """A copy of ``value`` (JSON-like: dicts, lists, tuples, scalars) that encodes as JSON.

    Other objects are kept as they are. Iterative, so hostile nesting cannot exhaust the stack.
    """
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]  # (item, container, slot)
    while stack:
        item, container, slot = stack.pop()
        if isinstance(item, str):
            container[slot] = printable(item)
        elif isinstance(item, float):
            container[slot] = item if math.isfinite(item) else None
        elif isinstance(item, dict):
            copy: dict[Any, Any] = {}
            for key, child in item.items():
                safe_key = printable(key) if isinstance(key, str) else key
                copy[safe_key] = None
                stack.append((child, copy, safe_key))
            container[slot] = copy
        elif isinstance(item, list | tuple):
            items: list[Any] = [None] * len(item)
            stack.extend((child, items, index) for index, child in enumerate(item))
            container[slot] = items
        else:
            container[slot] = item
    return root[0]


class EncodableModel(BaseModel):
    """A response model whose fields are made :func:`encodable` whenever it is validated.

    Instances are validated again when they are answered (``revalidate_instances``), so a
    field changed after construction is made encodable too.
    """

    model_config = ConfigDict(revalidate_instances="always")

    @model_validator(mode="before")
    @classmethod
    def _encodable(cls, data: Any) -> Any:
        return encodable(data) if isinstance(data, dict) else data


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python")
    return str(value)


def dumps(value: Any) -> str:
    """Compact JSON of ``value`` that never fails: made :func:`encodable`, datetimes as ISO
    8601, other objects as text."""
    return json.dumps(
        encodable(value), separators=(",", ":"), default=lambda v: encodable(_plain(v))
    )
