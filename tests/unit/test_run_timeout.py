"""A flow's run timeout: its ``timeout_s``, the default, and the operator's maximum."""

from __future__ import annotations

from typing import Any

import pytest

from step_sdk.manifest import Manifest
from workflows.catalog import InMemoryCatalog
from workflows.definition import DEFAULT_RUN_TIMEOUT_S, FlowDefinition
from workflows.validation import validate_flow

ECHO = Manifest.model_validate({"name": "test.echo", "version": "1.0.0", "entrypoint": "s:f"})
CATALOG = InMemoryCatalog([ECHO])


def flow(**fields: Any) -> dict[str, Any]:
    return {"name": "f", "steps": [{"id": "a", "uses": "test.echo@1.0.0"}], **fields}


@pytest.mark.parametrize(
    ("timeout_s", "maximum_s", "effective"),
    [
        (None, 86400, DEFAULT_RUN_TIMEOUT_S),  # no timeout_s: one hour
        (None, 600, 600),  # the default never exceeds the operator's maximum
        (90, 86400, 90),
        (7200, 3600, 3600),  # saved under a higher maximum: runs with the current one
    ],
)
def test_the_run_timeout_is_the_flows_capped_at_the_maximum(
    timeout_s: float | None, maximum_s: float, effective: float
) -> None:
    definition = FlowDefinition.model_validate(flow(timeout_s=timeout_s))
    assert definition.run_timeout_s(maximum_s) == effective


def test_a_timeout_above_the_maximum_is_a_problem_with_a_pointer() -> None:
    [problem] = validate_flow(flow(timeout_s=7200), CATALOG, max_run_timeout_s=3600)
    assert problem.pointer == "/timeout_s"
    assert "7200 s is above" in problem.message and "3600 s" in problem.message
    assert validate_flow(flow(timeout_s=3600), CATALOG, max_run_timeout_s=3600) == []
    assert validate_flow(flow(), CATALOG, max_run_timeout_s=60) == []


@pytest.mark.parametrize("bad", [0, -1, "1h", 10**12])
def test_a_timeout_that_is_not_a_positive_duration_is_a_problem(bad: Any) -> None:
    [problem] = validate_flow(flow(timeout_s=bad), CATALOG, max_run_timeout_s=3600)
    assert problem.pointer == "/timeout_s"


def test_a_definition_without_timeout_keeps_its_document() -> None:
    document = FlowDefinition.model_validate(flow()).document()
    assert "timeout_s" not in document  # stored flows read back exactly as saved
