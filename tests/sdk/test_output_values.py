"""``step_sdk.testing.call`` refuses outputs JSON cannot carry, as the sandbox does; limits on
output size are strict for new manifests and clamped for stored ones."""

from __future__ import annotations

import pytest

from step_sdk import step
from step_sdk.bundle import parse_manifest
from step_sdk.errors import OutputValidationError, StepDefinitionError
from step_sdk.manifest import MAX_OUTPUT_KB, Limits
from step_sdk.testing import call


@step
def returns(kind: str) -> dict:  # type: ignore[type-arg]
    values: dict[str, dict] = {  # type: ignore[type-arg]
        "nan": {"values": [40, float("nan")]},
        "inf": {"values": [float("inf")]},
        "surrogate": {"company": "ACME \ud83d"},
        "filename": {"files": ["caf\udce9.txt"]},
        "key": {"caf\udce9": 1},
    }
    return values[kind]


@step
def scalar() -> float:
    return float("-inf")


@pytest.mark.parametrize(
    ("kind", "pointer"),
    [
        ("nan", "/values/1"),
        ("inf", "/values/0"),
        ("surrogate", "/company"),
        ("filename", "/files/0"),
        ("key", "/caf\\udce9"),
    ],
)
def test_call_refuses_outputs_json_cannot_carry(kind: str, pointer: str) -> None:
    with pytest.raises(OutputValidationError) as caught:
        call(returns, {"kind": kind})
    assert [p.pointer for p in caught.value.problems] == [pointer]
    str(caught.value).encode("utf-8")  # the message itself is always printable


def test_call_refuses_a_non_finite_scalar_output() -> None:
    with pytest.raises(OutputValidationError, match=r"^/: -inf is not a JSON number"):
        call(scalar, {})


def test_new_steps_cannot_ask_for_more_output_than_temporal_carries() -> None:
    with pytest.raises(StepDefinitionError, match=f"the maximum is {MAX_OUTPUT_KB}"):

        @step(output_kb=MAX_OUTPUT_KB + 1)
        def big() -> str:
            return ""


def test_a_stored_manifest_over_the_new_maximum_still_loads_clamped() -> None:
    raw = (
        b'{"name": "old.big", "version": "1.0.0", "entrypoint": "step:main",'
        b' "limits": {"output_kb": 4096}}'
    )
    assert parse_manifest(raw).limits.output_kb == MAX_OUTPUT_KB
    assert Limits.model_validate({"output_kb": 16384}).output_kb == MAX_OUTPUT_KB
