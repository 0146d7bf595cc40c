"""The @step decorator: options, validation and coercion of inputs, serialisation of outputs."""

from __future__ import annotations

import dataclasses
import datetime

import pytest
from pydantic import BaseModel

from step_sdk import (
    InputValidationError,
    OutputValidationError,
    StepContext,
    StepDefinitionError,
    step,
)
from step_sdk.testing import call


@dataclasses.dataclass
class Window:
    start: datetime.date
    days: int


class Summary(BaseModel):
    first: datetime.date
    last: datetime.date


def test_bare_decorator_defaults_name_version_title_and_description() -> None:
    @step
    def shout_text(text: str) -> str:
        """Upper-case a text."""
        return text.upper()

    manifest = shout_text.manifest
    assert (manifest.name, manifest.version) == ("shout_text", "0.1.0")
    assert manifest.title == "Shout Text"
    assert manifest.description == "Upper-case a text."
    assert shout_text("hi") == "HI"  # still a plain function
    assert shout_text.__name__ == "shout_text"


def test_keyword_options_reach_the_manifest() -> None:
    @step(
        name="leads.score",
        version="2.1.0",
        requirements=["Markdown==3.7"],
        timeout_s=5,
        memory_mb=128,
        cpus=0.5,
        retry={"max_attempts": 5, "non_retryable": ["KeyError"]},
        secrets=["CRM_TOKEN"],
        examples=[{"input": {"slug": "acme"}, "output": 1}],
    )
    def score(slug: str) -> int:
        return 1

    manifest = score.manifest
    assert manifest.ref == "leads.score@2.1.0"
    assert manifest.requirements == ("markdown==3.7",)
    assert (manifest.limits.timeout_s, manifest.limits.memory_mb, manifest.limits.cpus) == (
        5,
        128,
        0.5,
    )
    assert manifest.retry.max_attempts == 5
    assert manifest.retry.non_retryable == ("KeyError",)
    assert manifest.secrets == ("CRM_TOKEN",)
    assert manifest.examples[0].output == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"version": "1.0"}, "/version"),
        ({"name": "Bad Name"}, "/name"),
        ({"requirements": ["requests>=2"]}, "/requirements"),
        ({"timeout_s": 5000}, "/limits"),
        ({"colour": "blue"}, "unknown @step option"),
    ],
)
def test_bad_options_fail_at_decoration_naming_the_field(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(StepDefinitionError, match=message):
        step(**options)(lambda text: text)  # type: ignore[call-overload]


def test_inputs_are_validated_and_coerced_into_annotated_types() -> None:
    @step
    def summarise(window: Window) -> Summary:
        assert isinstance(window.start, datetime.date)
        last = window.start + datetime.timedelta(days=window.days)
        return Summary(first=window.start, last=last)

    output = call(summarise, {"window": {"start": "2026-01-30", "days": 3}})
    assert output == {"first": "2026-01-30", "last": "2026-02-02"}


def test_input_errors_name_json_pointers() -> None:
    @step
    def summarise(window: Window, label: str = "") -> str:
        return label

    with pytest.raises(InputValidationError) as caught:
        call(summarise, {"window": {"start": "soon", "days": "x"}, "extra": 1})
    pointers = {p.pointer for p in caught.value.problems}
    assert "/window/days" in pointers
    assert "" in pointers  # the unexpected property is reported at the root


def test_output_that_breaks_the_return_type_is_output_validation_error() -> None:
    @step
    def count(text: str) -> int:
        return "many"  # type: ignore[return-value]

    with pytest.raises(OutputValidationError):
        call(count, {"text": "abc"})


def test_context_carries_identity_and_only_declared_secrets() -> None:
    @step(secrets=["TOKEN"])
    def whoami(ctx: StepContext) -> dict[str, object]:
        return {"attempt": ctx.attempt, "secrets": dict(ctx.secrets)}

    output = call(whoami, {}, secrets={"TOKEN": "t", "OTHER": "o"}, attempt=2)
    assert output == {"attempt": 2, "secrets": {"TOKEN": "t"}}
