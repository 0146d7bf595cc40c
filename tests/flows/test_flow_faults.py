"""Every run ends: expression faults fail their step with a pointer; bugs fail the run.

Real Temporal dev server, real worker, real sandbox.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from stepwell_settings import Settings
from tests.flows.conftest import StartFlow, inline_step
from ui_api.runs.reader import VisibleRun, read_run
from workflows.types import FLOW_RUN, PROGRESS_QUERY, FlowRunInput, FlowRunOutput, ResolvedStep

pytestmark = [pytest.mark.temporal, pytest.mark.docker]

# A run that is stuck retrying its workflow task never ends; these tests give up long before.
ENDS_WITHIN_S = 60


async def failure_of(handle: Any) -> dict[str, Any]:
    """How the run failed (it must fail, and soon): the failure's ``type`` and ``message``, and
    its details (the failed step's error) under ``details``."""
    with pytest.raises(WorkflowFailureError) as caught:
        await asyncio.wait_for(handle.result(), ENDS_WITHIN_S)
    cause = caught.value.cause
    details = (getattr(cause, "details", None) or [{}])[0]
    return {"message": str(cause), "type": getattr(cause, "type", None), "details": details}


@pytest.mark.parametrize(
    ("field", "step_extra"),
    [
        ("/steps/1/if", {"if": "{{ trigger.amount > `50` }}", "with": {"text": "hot"}}),
        ("/steps/1/with/text", {"with": {"text": "hot {{ trigger.amount >= `50` }}"}}),
        ("/steps/1/foreach", {"foreach": "{{ trigger.amount < `50` }}", "with": {"text": "x"}}),
    ],
)
async def test_comparing_a_string_with_a_number_fails_the_step_naming_the_field(
    start_flow: StartFlow, field: str, step_extra: dict[str, Any]
) -> None:
    definition = {
        "name": "compare",
        "steps": [
            {"id": "first", "uses": "text.slugify@1.0.0", "with": {"text": "a"}},
            {"id": "notify", "uses": "text.slugify@1.0.0", "needs": ["first"], **step_extra},
        ],
    }
    handle = await start_flow(definition, {"amount": "60"})
    failure = await failure_of(handle)
    assert failure["type"] == "FlowFailed" and failure["details"]["step_id"] == "notify"
    assert failure["details"]["type"] == "InputValidationError"
    assert failure["details"]["pointer"] == field
    message = failure["message"]
    assert "InputValidationError" in message and f"step 'notify', {field}:" in message
    assert "cannot compare string with number" in message
    progress = await handle.query(PROGRESS_QUERY)
    assert progress["status"] == "failed"
    assert progress["steps"]["notify"]["status"] == "failed"
    assert progress["steps"]["notify"]["error"]["type"] == "InputValidationError"
    assert progress["steps"]["first"]["status"] == "succeeded"


async def test_a_missing_value_in_text_fails_the_step_naming_the_missing_path(
    start_flow: StartFlow,
) -> None:
    definition = {
        "name": "hello",
        "steps": [{"id": "greet", "uses": "text.slugify@1.0.0",
                   "with": {"text": "Hello {{ trigger.name }}"}}],
    }  # fmt: skip
    handle = await start_flow(definition, {})
    failure = await failure_of(handle)
    assert failure["details"]["pointer"] == "/steps/0/with/text"
    assert "trigger.name is missing (null)" in failure["message"]
    # the API shows the same error on the step
    run = VisibleRun(handle.id, "default", handle, await handle.describe())
    error = (await read_run(Settings(), run)).steps["greet"].error
    assert error is not None and error.type == "InputValidationError"
    assert error.pointer == "/steps/0/with/text"


async def test_defaults_and_optional_inputs_make_missing_values_explicit(
    start_flow: StartFlow,
) -> None:
    greeter = inline_step(
        "test.greet",
        """
        from step_sdk import step

        @step(name="test.greet", version="1.0.0")
        def main(name: str, greeting: str = "Hello") -> str:
            return f"{greeting}, {name}"
        """,
    )
    definition = {
        "name": "defaults",
        "steps": [
            {"id": "greet", "uses": "test.greet@1.0.0",
             "with": {"name": "{{ trigger.name || 'stranger' }}!",
                      "greeting": "{{ trigger.greeting }}"}},
            {"id": "loud", "uses": "text.slugify@1.0.0", "if": "{{ trigger.vip }}",
             "with": {"text": "{{ not_null(trigger.name, 'nobody') }} is here"}},
        ],
        "output": {"text": "{{ steps.greet.output }}"},
    }  # fmt: skip
    result = await (await start_flow(definition, {}, [greeter])).result()
    # greeting was missing: left out, so the step's own default applied
    assert result.output == {"text": "Hello, stranger!"}
    # an `if` that reads a missing value is false, not an error
    assert result.steps["loud"].status == "skipped"


async def test_an_output_mapping_that_fails_fails_the_run_naming_the_pointer(
    start_flow: StartFlow,
) -> None:
    definition = {
        "name": "output",
        "steps": [{"id": "a", "uses": "text.slugify@1.0.0", "with": {"text": "x"}}],
        "output": {"summary": "slug {{ steps.a.output.nothing }}"},
    }
    failure = await failure_of(await start_flow(definition))
    assert failure["details"]["pointer"] == "/output/summary"
    assert "steps.a.output.nothing is missing" in failure["message"]


async def test_an_output_mapping_that_overflows_to_infinity_fails_the_run_naming_the_pointer(
    start_flow: StartFlow,
) -> None:
    # JMESPath's sum() of two huge finite numbers is infinity: JSON cannot carry it, and a run
    # must never show `null` where its output held something else.
    definition = {
        "name": "overflow",
        "steps": [{"id": "a", "uses": "text.slugify@1.0.0", "with": {"text": "x"}}],
        "output": {"total": "{{ sum(trigger.v) }}", "fine": "{{ trigger.v[0] }}"},
    }
    failure = await failure_of(await start_flow(definition, {"v": [1e308, 1e308]}))
    assert failure["details"]["pointer"] == "/output/total"
    assert "inf is not a JSON number" in failure["message"]


async def start_raw(temporal: WorkflowEnvironment, task_queue: str, request: FlowRunInput) -> Any:
    return await temporal.client.start_workflow(
        FLOW_RUN,
        request,
        id=f"run-{uuid.uuid4().hex[:12]}",
        task_queue=task_queue,
        result_type=FlowRunOutput,
    )


async def test_a_bug_in_workflow_code_fails_the_run_instead_of_retrying_for_ever(
    temporal: WorkflowEnvironment, task_queue: str
) -> None:
    # A run whose frozen input lacks the step version it uses trips a KeyError deep inside
    # FlowRun (an API never starts such a run: this stands for any bug in workflow code).
    definition = {"name": "bug", "steps": [{"id": "a", "uses": "text.slugify@9.9.9"}]}
    handle = await start_raw(temporal, task_queue, FlowRunInput(definition=definition, steps={}))
    failure = await failure_of(handle)
    assert failure["type"] == "KeyError"
    assert "text.slugify@9.9.9" in failure["message"]
    history = await handle.fetch_history()
    failed_tasks = [
        e for e in history.events if e.HasField("workflow_task_failed_event_attributes")
    ]
    assert failed_tasks == []  # the run failed at once: no workflow task was retried


async def test_a_definition_that_does_not_validate_fails_the_run(
    temporal: WorkflowEnvironment, task_queue: str
) -> None:
    request = FlowRunInput(
        definition={"name": "bad", "steps": [{"id": "Not An Id", "uses": "x@1"}]},
        steps={"x@1": ResolvedStep(digest="sha256:0", manifest={})},
    )
    failure = await failure_of(await start_raw(temporal, task_queue, request))
    assert failure["type"] == "ValidationError"
    assert "is not a step id" in failure["message"]
