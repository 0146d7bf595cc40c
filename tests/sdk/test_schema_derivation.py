"""Input and output schemas derived from type hints, for every supported kind of hint."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import socket
from collections.abc import Callable
from typing import Any, Literal, Optional

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel
from typing_extensions import TypedDict

from step_sdk import StepContext, StepDefinitionError, step


class Priority(enum.Enum):
    LOW = "low"
    HIGH = "high"


class Address(TypedDict):
    city: str
    zip: str


@dataclasses.dataclass
class Point:
    x: float
    y: float


class Lead(BaseModel):
    company: str
    score: int = 0


def schema_of(function: Callable[..., Any]) -> dict[str, Any]:
    schema = step(function).manifest.input_schema
    Draft202012Validator.check_schema(schema)
    return schema


def prop(function: Callable[..., Any], name: str) -> dict[str, Any]:
    return dict(schema_of(function)["properties"][name])


def test_parameters_are_properties_and_defaults_make_them_optional() -> None:
    def slugify(text: str, max_len: int = 60) -> str:
        return text

    schema = schema_of(slugify)
    assert schema["type"] == "object"
    assert schema["required"] == ["text"]
    assert schema["properties"]["text"]["type"] == "string"
    assert schema["properties"]["max_len"] == {"default": 60, "title": "Max Len", "type": "integer"}
    assert schema["additionalProperties"] is False
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (list[dict[str, float]], {"type": "array", "items": {"type": "object"}}),
        (Literal["a", "b"], {"enum": ["a", "b"]}),
        (datetime.datetime, {"type": "string", "format": "date-time"}),
    ],
)
def test_plain_json_types(hint: Any, expected: dict[str, Any]) -> None:
    def function(value: Any) -> None:
        return None

    function.__annotations__ = {"value": hint, "return": None}
    derived = prop(function, "value")
    for key, value in expected.items():
        if isinstance(value, dict):
            assert derived[key]["type"] == value["type"]
        else:
            assert derived[key] == value


def test_optional_allows_null() -> None:
    def function(note: Optional[str] = None) -> None:  # noqa: UP045 - Optional is the point
        return None

    assert {"type": "null"} in prop(function, "note")["anyOf"]


def test_enum_dataclass_typeddict_and_model_become_definitions() -> None:
    def function(priority: Priority, address: Address, point: Point, lead: Lead) -> None:
        return None

    schema = schema_of(function)
    definitions = schema["$defs"]
    assert definitions["Priority"]["enum"] == ["low", "high"]
    assert definitions["Address"]["required"] == ["city", "zip"]
    assert definitions["Point"]["properties"]["x"]["type"] == "number"
    assert definitions["Lead"]["required"] == ["company"]


def test_return_annotation_is_the_output_schema() -> None:
    @step
    def score(company: str) -> Lead:
        return Lead(company=company)

    output = score.manifest.output_schema
    assert output["properties"]["score"]["type"] == "integer"
    assert output["required"] == ["company"]


def test_step_context_is_not_an_input() -> None:
    def function(text: str, ctx: StepContext) -> str:
        return text

    assert set(schema_of(function)["properties"]) == {"text"}


def test_bytes_is_refused_naming_the_parameter() -> None:
    def function(blob: bytes) -> None:
        return None

    with pytest.raises(StepDefinitionError, match=r"parameter 'blob'.*no JSON form"):
        step(function)


def test_a_socket_is_refused_naming_the_parameter() -> None:
    def function(connection: socket.socket) -> None:
        return None

    with pytest.raises(StepDefinitionError, match=r"parameter 'connection'.*cannot be expressed"):
        step(function)


def test_a_callable_is_refused_naming_the_parameter() -> None:
    def function(callback: Callable[[int], int]) -> None:
        return None

    with pytest.raises(StepDefinitionError, match="parameter 'callback'"):
        step(function)


def test_an_unjsonable_return_type_is_refused() -> None:
    def function(text: str) -> bytes:
        return text.encode()

    with pytest.raises(StepDefinitionError, match="return type"):
        step(function)


def test_variadic_parameters_are_refused() -> None:
    def function(*items: int) -> None:
        return None

    with pytest.raises(StepDefinitionError, match=r"\*args"):
        step(function)


def test_explicit_schemas_override_the_hints() -> None:
    explicit = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}}

    @step(input_schema=explicit, output_schema={"type": "integer"})
    def double(n: int) -> int:
        return n * 2

    assert double.manifest.input_schema == explicit
    assert double.manifest.output_schema == {"type": "integer"}


def test_invalid_explicit_schema_is_refused() -> None:
    with pytest.raises(StepDefinitionError, match="input_schema is not a valid JSON Schema"):

        @step(input_schema={"type": "no-such-type"})
        def bad(n: int) -> int:
            return n
