"""Deriving a step's input and output JSON Schemas (2020-12) from its type hints.

Parameters become the properties of the input object (a default makes one optional); the return
annotation is the output schema. pydantic models, dataclasses, TypedDicts, enums, ``Literal``,
``Optional`` and plain JSON types are supported; anything that has no JSON form (``bytes``, a
socket, a callable) is refused at decoration time, naming the parameter.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, TypeAdapter, create_model
from pydantic.errors import PydanticSchemaGenerationError, PydanticUserError

from step_sdk.context import StepContext
from step_sdk.errors import StepDefinitionError

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_NO_JSON_FORMATS = {"binary", "base64"}


def _find_unjsonable(schema: Any) -> bool:
    """True if a generated schema holds a type with no JSON form (pydantic's ``bytes``)."""
    if isinstance(schema, dict):
        if schema.get("format") in _NO_JSON_FORMATS:
            return True
        return any(_find_unjsonable(v) for v in schema.values())
    if isinstance(schema, list):
        return any(_find_unjsonable(v) for v in schema)
    return False


def _describe(hint: Any) -> str:
    return getattr(hint, "__name__", None) or repr(hint)


def json_schema_of(hint: Any, where: str) -> dict[str, Any]:
    """The JSON Schema of one type hint; ``where`` names it in errors ("parameter 'x'")."""
    try:
        schema = TypeAdapter(hint).json_schema()
    except (PydanticSchemaGenerationError, PydanticUserError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise StepDefinitionError(
            f"{where}: type {_describe(hint)} cannot be expressed in JSON ({reason})"
        ) from None
    if _find_unjsonable(schema):
        raise StepDefinitionError(
            f"{where}: type {_describe(hint)} has no JSON form (binary data); "
            "use str (e.g. base64 text) instead"
        )
    return schema


class Signature:
    """The input model, context parameter and output adapter of a step function."""

    def __init__(self, function: Callable[..., Any]) -> None:
        qualified = getattr(function, "__qualname__", repr(function))
        try:
            hints = get_type_hints(function, include_extras=True)
        except Exception as exc:
            raise StepDefinitionError(f"{qualified}: cannot resolve type hints: {exc}") from None
        fields: dict[str, Any] = {}
        self.context_parameter: str | None = None
        for name, parameter in inspect.signature(function).parameters.items():
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                raise StepDefinitionError(
                    f"{qualified}: parameter '{name}': *args and **kwargs cannot be step inputs"
                )
            hint = hints.get(name, Any)
            if hint is StepContext:
                self.context_parameter = name
                continue
            json_schema_of(hint, f"{qualified}: parameter '{name}'")
            default = ... if parameter.default is parameter.empty else parameter.default
            fields[name] = (hint, default)
        self.parameters = tuple(fields)
        self.input_model: type[BaseModel] = create_model(
            f"{function.__name__}_input",
            __config__=ConfigDict(extra="forbid"),
            **fields,
        )
        returns = hints.get("return", Any)
        self.output_schema = (
            {} if returns is Any else json_schema_of(returns, f"{qualified}: return type")
        )
        self.output_adapter: TypeAdapter[Any] = TypeAdapter(returns)

    def input_schema(self) -> dict[str, Any]:
        schema = self.input_model.model_json_schema()
        schema.pop("title", None)
        return {"$schema": SCHEMA_DIALECT, **schema}

    def output_schema_document(self) -> dict[str, Any]:
        return {"$schema": SCHEMA_DIALECT, **self.output_schema} if self.output_schema else {}
