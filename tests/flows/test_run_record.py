"""What the API reads back about a closed run is true: attempts as Temporal counted them, and no
step still ``pending`` or ``running`` once the run has ended. Real Temporal, worker and sandbox;
the API's own reader (``ui_api.run_reader``)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError

from stepwell_settings import Settings
from tests.flows.conftest import StartFlow, inline_step
from ui_api.runs.reader import VisibleRun, history_facts, read_run, step_states

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
    assert corrected["each"] == {"status": "cancelled", "attempts": 1}
    assert corrected["later"] == {"status": "not_started"}
