"""A value JSON cannot carry that reaches a step anyway (an edge that let it through) fails that
step once with InputValidationError naming the pointer; the run ends."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from tests.flows.conftest import StartFlow, inline_step

pytestmark = [pytest.mark.temporal, pytest.mark.docker]


@pytest.mark.parametrize(
    ("trigger", "pointer"),
    [
        ({"values": [40, float("nan")]}, "/values/1"),
        ({"values": [float("inf")]}, "/values/0"),
        ({"values": ["ACME \ud83d"]}, "/values/0"),
    ],
)
async def test_a_step_input_json_cannot_carry_fails_the_step_once(
    start_flow: StartFlow, trigger: dict[str, list[object]], pointer: str
) -> None:
    echo = inline_step("test.echo", "def main(values):\n    return len(values)\n")
    definition = {
        "name": "unjsonable",
        "steps": [{"id": "echo", "uses": "test.echo@1.0.0",
                   "with": {"values": "{{ trigger.values }}"}}],
    }  # fmt: skip
    handle = await start_flow(definition, trigger, extra=[echo])
    with pytest.raises(WorkflowFailureError) as caught:
        await asyncio.wait_for(handle.result(), 120)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    details = cause.details[0]
    assert details["step_id"] == "echo" and details["type"] == "InputValidationError"
    assert f"the input cannot be carried as JSON: {pointer}: " in details["message"]
    history = await handle.fetch_history()
    started = [e for e in history.events if e.HasField("activity_task_started_event_attributes")]
    assert len(started) == 1  # not retried
