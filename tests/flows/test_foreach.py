"""``foreach`` when items fail: a failing step stops and kills its items; ``on_error: continue``
runs them all and says which failed. Real Temporal dev server, real worker, real containers."""

from __future__ import annotations

import asyncio

import docker
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError

from sandbox import labels
from step_sdk.bundle import Bundle
from tests.flows.conftest import StartFlow, inline_step
from workflows.types import PROGRESS_QUERY

pytestmark = [pytest.mark.temporal, pytest.mark.docker]


def picky_step() -> Bundle:
    """Fails at once for odd ``n`` (no retry); sleeps ``wait`` seconds for even ``n``."""
    return inline_step(
        "test.picky",
        """
        import time
        from step_sdk import step

        @step(name="test.picky", version="1.0.0", timeout_s=300,
              retry={"max_attempts": 1})
        def main(n: int, wait: float) -> int:
            if n % 2:
                raise ValueError(f"odd item {n}")
            time.sleep(wait)
            return n * 10
        """,
        limits={"timeout_s": 300},
        retry={"max_attempts": 1},
    )


async def test_a_failing_item_cancels_running_items_and_starts_no_more(
    start_flow: StartFlow, docker_client: docker.DockerClient
) -> None:
    definition = {
        "name": "fail-fast",
        "steps": [{"id": "each", "uses": "test.picky@1.0.0", "foreach": "{{ trigger.items }}",
                   "concurrency": 2, "with": {"n": "{{ item }}", "wait": 300}}],
    }  # fmt: skip
    # item 0 sleeps for 300 s, item 1 fails at once; items 2-4 must never start
    handle = await start_flow(definition, {"items": [0, 1, 2, 3, 4]}, [picky_step()])
    with pytest.raises(WorkflowFailureError) as caught:
        await asyncio.wait_for(handle.result(), 120)
    assert "step 'each' failed: StepError" in str(caught.value.cause)
    assert "item 1: ValueError: odd item 1" in str(caught.value.cause)
    label = {"label": f"{labels.RUN_ID}={handle.id}"}
    assert docker_client.api.containers(all=True, filters=label) == []
    history = await handle.fetch_history()
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    cancelled = [
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED
    ]
    assert len(scheduled) == 2 and len(cancelled) == 1
    step = (await handle.query(PROGRESS_QUERY))["steps"]["each"]
    assert step["status"] == "failed"
    assert step["error"]["item"] == 1
    assert step["error"]["items"] == [
        {"index": 1, "type": "StepError", "message": "ValueError: odd item 1"}
    ]
    assert step["error"]["message"].startswith(
        "1 of 5 items failed (1); 1 cancelled, 3 not started"
    )


async def test_with_on_error_continue_every_item_runs_and_failures_are_listed(
    start_flow: StartFlow,
) -> None:
    definition = {
        "name": "tolerant",
        "steps": [
            {"id": "each", "uses": "test.picky@1.0.0", "foreach": "{{ trigger.items }}",
             "concurrency": 2, "on_error": "continue", "with": {"n": "{{ item }}", "wait": 0}},
            {"id": "report", "uses": "text.slugify@1.0.0",
             "with": {"text": "failed {{ steps.each.error.items[*].index }}"}},
        ],
        "output": {"outputs": "{{ steps.each.output }}", "report": "{{ steps.report.output }}"},
    }  # fmt: skip
    result = await (
        await start_flow(definition, {"items": [0, 1, 2, 3, 4]}, [picky_step()])
    ).result()
    assert result.output["outputs"] == [0, None, 20, None, 40]
    assert result.output["report"] == {"slug": "failed-1-3"}
    each = result.steps["each"]
    assert each.status == "failed" and each.items == 5
    assert each.error is not None
    assert [item["index"] for item in each.error["items"]] == [1, 3]
    assert each.error["message"].startswith("2 of 5 items failed (1, 3)")


async def test_a_failing_sibling_step_cancels_a_running_foreach(
    start_flow: StartFlow, docker_client: docker.DockerClient
) -> None:
    definition = {
        "name": "sibling",
        "steps": [
            {"id": "each", "uses": "test.picky@1.0.0", "foreach": "{{ trigger.items }}",
             "concurrency": 2, "with": {"n": "{{ item }}", "wait": 300}},
            {"id": "boom", "uses": "test.picky@1.0.0", "with": {"n": 1, "wait": 0}},
        ],
    }  # fmt: skip
    handle = await start_flow(definition, {"items": [0, 2, 4, 6]}, [picky_step()])
    with pytest.raises(WorkflowFailureError) as caught:
        await asyncio.wait_for(handle.result(), 120)
    assert "step 'boom' failed" in str(caught.value.cause)
    label = {"label": f"{labels.RUN_ID}={handle.id}"}
    assert docker_client.api.containers(all=True, filters=label) == []
    steps = (await handle.query(PROGRESS_QUERY))["steps"]
    assert steps["each"]["status"] == "cancelled"
    assert steps["boom"]["status"] == "failed"
