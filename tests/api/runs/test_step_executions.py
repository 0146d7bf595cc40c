"""What a run page draws from a run: each step's rendered input and its executions with their
times (a timeline), live and after the end; and runs listed by how they started."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.workflow.v1 import PendingActivityInfo

from tests.api.helpers import API_WORKER, WorkspaceKey, finished, insert_flow, insert_step
from tests.api.runs.helpers import FAILING, chatty_flow, start, step_running
from ui_api.runs.executions import step_executions, step_input
from ui_api.runs.history import ExecutionFacts
from ui_api.runs.listing import visibility_query
from ui_api.runs.schemas import RunStatus, RunTrigger
from ui_api.services import Services


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_a_step_shows_its_rendered_input_and_its_execution_times(
    client: httpx.AsyncClient, workspace: WorkspaceKey, slug_flow: str, api_worker: str
) -> None:
    run = await finished(
        client,
        workspace,
        (await start(client, workspace, slug_flow, {"t": "Hello There"}))["run_id"],
    )
    step = run["steps"]["clean"]
    assert step["input"] == {"text": "Hello There"}
    [execution] = step["executions"]
    assert execution["execution_id"] == "clean" and execution["item"] is None
    assert execution["status"] == "succeeded" and execution["attempt"] == 1
    assert execution["error_type"] is None and isinstance(execution["duration_ms"], int)
    assert execution["worker"] == API_WORKER  # the owner id of the worker that ran it
    scheduled, started = _time(execution["scheduled_at"]), _time(execution["started_at"])
    assert _time(run["started_at"]) <= scheduled <= started <= _time(execution["finished_at"])


async def test_a_failed_execution_counts_its_attempts_and_names_its_error(
    client: httpx.AsyncClient, workspace: WorkspaceKey, api_services: Services, api_worker: str
) -> None:
    insert_step(api_services, workspace.workspace_id, FAILING)
    flow = insert_flow(
        api_services,
        workspace.workspace_id,
        {"name": "fails", "steps": [{"id": "boom", "uses": "test.failing@1.0.0"}]},
    )
    run = await finished(client, workspace, (await start(client, workspace, flow.id))["run_id"])
    step = run["steps"]["boom"]
    assert step["input"] == {}
    [execution] = step["executions"]
    assert execution["status"] == "failed" and execution["attempt"] == 2
    assert execution["error_type"] == "StepError" and execution["duration_ms"] is None
    assert execution["worker"] == API_WORKER
    assert execution["finished_at"] is not None


async def test_a_running_execution_has_started_and_has_not_finished(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    api_services: Services,
    chatty: None,
    api_worker: str,
) -> None:
    flow = insert_flow(api_services, workspace.workspace_id, chatty_flow(60))
    run_id = (await start(client, workspace, flow.id, {}))["run_id"]
    run = await step_running(client, workspace, run_id, "talk")
    # The workflow calls the step running when it schedules it; the history shows the
    # scheduled activity a moment later, and a worker starts it after that.
    for _ in range(300):
        executions = run["steps"]["talk"]["executions"]
        if executions and executions[0]["status"] == "running":
            break
        await asyncio.sleep(0.1)
        run = (await client.get(f"/v1/runs/{run_id}", headers=workspace.headers)).json()
    [execution] = run["steps"]["talk"]["executions"]
    assert execution["status"] == "running" and execution["attempt"] == 1
    assert execution["started_at"] is not None and execution["finished_at"] is None
    # not in the history yet (Temporal records the start when the attempt ends): the pending
    # activity names the worker running it
    assert execution["worker"] == API_WORKER
    assert run["steps"]["talk"]["input"] == {"pause": 60}
    await client.post(f"/v1/runs/{run_id}/cancel", headers=workspace.headers)
    ended = await finished(client, workspace, run_id, timeout_s=30)
    [execution] = ended["steps"]["talk"]["executions"]
    assert execution["status"] == "cancelled" and execution["finished_at"] is not None


async def test_runs_are_listed_by_trigger(
    client: httpx.AsyncClient, workspace: WorkspaceKey, slug_flow: str, api_worker: str
) -> None:
    manual = (await start(client, workspace, slug_flow, {"t": "a"}))["run_id"]
    await finished(client, workspace, manual)
    answer = await client.post(f"/v1/runs/{manual}/rerun", headers=workspace.headers)
    rerun = answer.json()["run_id"]
    await finished(client, workspace, rerun)

    async def listed(**params: Any) -> set[str]:
        answer = await client.get("/v1/runs", params=params, headers=workspace.headers)
        assert answer.status_code == 200, answer.text
        return {item["run_id"] for item in answer.json()["items"]}

    for _ in range(100):  # visibility is eventually consistent
        if await listed(flow_id=slug_flow) == {manual, rerun}:
            break
        await asyncio.sleep(0.1)
    assert await listed(flow_id=slug_flow, trigger="rerun") == {rerun}
    assert await listed(flow_id=slug_flow, trigger="manual", status="succeeded") == {manual}
    assert await listed(flow_id=slug_flow, trigger="webhook") == set()
    refused = await client.get("/v1/runs?trigger=cron", headers=workspace.headers)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["pointer"] == "/query/trigger"


def test_the_trigger_filter_is_a_quoted_clause() -> None:
    query = visibility_query("ws_1", None, RunStatus.failed, RunTrigger.schedule)
    assert query == (
        "WorkflowType = 'FlowRun' AND StepwellWorkspace = 'ws_1' "
        "AND ExecutionStatus = 'Failed' AND StepwellTrigger = 'schedule'"
    )


AT = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_foreach_steps_input_is_each_items_latest_in_item_order() -> None:
    executions = [
        ExecutionFacts("a1", "fan[1]", AT, input={"n": 1}),
        ExecutionFacts("a0", "fan[0]", AT + timedelta(seconds=1), input={"n": 0}),
        # item 0 run again after an infrastructure failure: a new activity, the latest input
        ExecutionFacts("a2", "fan[0]", AT + timedelta(seconds=2), input={"n": "again"}),
    ]
    assert step_input(executions) == [{"n": "again"}, {"n": 1}]
    assert [e.execution_id for e in step_executions(executions, [])] == [
        "fan[1]",
        "fan[0]",
        "fan[0]",
    ]
    assert step_input([]) is None


def test_a_started_pending_activity_gives_a_running_executions_attempt_and_start() -> None:
    pending = PendingActivityInfo(
        activity_id="a1",
        state=PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
        attempt=2,
        last_worker_identity="vm-2/41/0123456789ab",
    )
    pending.last_started_time.FromDatetime(AT + timedelta(seconds=5))
    scheduled = ExecutionFacts("a1", "work", AT, attempt_offset=1)
    [entry] = step_executions([scheduled], [pending])
    assert entry.status == "running" and entry.attempt == 3  # counted on after an earlier one
    assert entry.started_at == AT + timedelta(seconds=5) and entry.finished_at is None
    assert entry.worker == "vm-2/41/0123456789ab"  # the worker running it now
    waiting = PendingActivityInfo(
        activity_id="a1", state=PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED, attempt=1
    )
    [entry] = step_executions([scheduled], [waiting])
    assert entry.status == "scheduled" and entry.started_at is None
