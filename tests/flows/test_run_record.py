"""What the API reads back about a closed run is true: attempts as Temporal counted them, and no
step still ``pending`` or ``running`` once the run has ended. Real Temporal, worker and sandbox;
the API's own reader (``ui_api.runs.reader``)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from activities.bundles import LocalBundleStore
from stepwell.local_steps import LocalSteps
from stepwell.runs import read_run as read_cli_run
from stepwell_settings import Settings
from tests.flows.conftest import StartFlow, inline_step
from ui_api.runs.reader import VisibleRun, history_facts, read_run, step_states
from workflows.definition import FlowDefinition
from workflows.types import FLOW_RUN, FlowRunInput

pytestmark = [pytest.mark.temporal, pytest.mark.docker]


async def test_a_closed_failed_run_shows_attempts_and_no_running_step(
    start_flow: StartFlow,
) -> None:
    flaky = inline_step(
        "test.flaky2",
        """
        import time
        from step_sdk import StepContext, step

        @step(name="test.flaky2", version="1.0.0", retry={"max_attempts": 2,
              "initial_interval_s": 0.5})
        def main(ctx: StepContext, wait: float) -> int:
            time.sleep(wait)
            raise RuntimeError(f"attempt {ctx.attempt} failed")
        """,
        retry={"max_attempts": 2, "initial_interval_s": 0.5},
        limits={"timeout_s": 300},
    )
    definition = {
        "name": "truth",
        "steps": [
            {"id": "flaky", "uses": "test.flaky2@1.0.0", "with": {"wait": 0}},
            {"id": "each", "uses": "test.flaky2@1.0.0", "foreach": "{{ trigger.items }}",
             "with": {"wait": 300}},
            {"id": "later", "uses": "text.slugify@1.0.0",
             "with": {"text": "{{ steps.flaky.output || 'x' }}"}},
        ],
    }  # fmt: skip
    handle = await start_flow(definition, {"items": [1, 2]}, [flaky])
    with pytest.raises(WorkflowFailureError):
        await asyncio.wait_for(handle.result(), 120)
    run = VisibleRun(handle.id, "default", handle, await handle.describe())

    detail = await read_run(Settings(), run)  # the worker answers the query (a replay)
    steps = detail.steps
    assert steps["flaky"].status == "failed" and steps["flaky"].attempts == 2
    assert steps["each"].status == "cancelled" and steps["each"].attempts == 1
    assert steps["later"].status == "not_started"
    assert steps["flaky"].error is not None and steps["flaky"].error.type == "StepError"

    facts = await history_facts(run)
    rebuilt = step_states(facts, None)  # no worker: from the history alone
    assert rebuilt["flaky"]["status"] == "failed" and rebuilt["flaky"]["attempts"] == 2
    assert rebuilt["each"]["status"] == "cancelled"
    assert rebuilt["later"]["status"] == "not_started"

    # a workflow of an older version reported its state before it could close it
    stale: dict[str, Any] = {
        "flaky": {"status": "failed", "attempts": 0},
        "each": {"status": "running", "attempts": 0},
        "later": {"status": "pending"},
    }
    corrected = step_states(facts, {"status": "failed", "steps": stale})
    assert corrected["flaky"] == {"status": "failed", "attempts": 2}
    assert corrected["each"] == {
        "status": "cancelled", "attempts": 1, "finished_at": facts.closed_at
    }  # fmt: skip
    assert corrected["later"] == {"status": "not_started"}


async def test_a_run_that_times_out_mid_step_shows_the_step_ended_with_it(
    temporal: WorkflowEnvironment, task_queue: str, bundle_store: LocalBundleStore
) -> None:
    nap = inline_step("test.longnap", "import time\n\ndef main():\n    time.sleep(60)\n")
    parsed = FlowDefinition.model_validate(
        {"name": "nap", "steps": [{"id": "nap", "uses": "test.longnap@1.0.0"}]}
    )
    request = FlowRunInput(
        definition=parsed.document(),
        steps=LocalSteps([nap], bundle_store).resolve(parsed),
        heartbeat_timeout_s=5,
    )
    handle = await temporal.client.start_workflow(
        FLOW_RUN, request, id=f"run-{uuid.uuid4().hex[:12]}", task_queue=task_queue,
        execution_timeout=timedelta(seconds=4),
    )  # fmt: skip
    with pytest.raises(WorkflowFailureError):
        await asyncio.wait_for(handle.result(), 60)
    # the API's reader
    run = VisibleRun(handle.id, "default", handle, await handle.describe())
    state = step_states(await history_facts(run), None)["nap"]
    assert state["status"] == "cancelled" and state["attempts"] == 1, state
    assert state["finished_at"] is not None
    # the CLI's timeline
    view = await read_cli_run(temporal.client, handle.id)
    assert view.status == "timed_out"
    assert [(e.step_id, e.outcome, e.attempts) for e in view.executions] == [
        ("nap", "cancelled", 1)
    ]
