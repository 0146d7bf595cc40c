"""Run timeouts: a flow's ``timeout_s`` (default 1 h, at most the operator's maximum) is the
Temporal execution timeout of every run, whichever way it starts, and a run over it ends."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta
from typing import Any

import docker
import httpx
import pytest
from temporalio.client import Client, ScheduleActionStartWorkflow

from sandbox import labels
from step_sdk.bundle import Bundle
from tests.api.helpers import NAP, WorkspaceKey, assert_error, finished, insert_flow, insert_step
from ui_api.flows.models import Flow
from ui_api.services import Services
from workflows.definition import DEFAULT_RUN_TIMEOUT_S

pytestmark = pytest.mark.temporal


def nap_flow(seconds: float, **flow: Any) -> dict[str, Any]:
    return {
        "name": f"nap-{secrets.token_hex(3)}",
        "steps": [{"id": "nap", "uses": "test.nap@1.0.0", "with": {"seconds": seconds}}],
        **flow,
    }


@pytest.fixture
def nap(api_services: Services, workspace: WorkspaceKey) -> Bundle:
    insert_step(api_services, workspace.workspace_id, NAP)
    return NAP


async def _start(client: httpx.AsyncClient, workspace: WorkspaceKey, flow_id: str) -> str:
    answer = await client.post(
        "/v1/runs", json={"flow_id": flow_id, "input": {}}, headers=workspace.headers
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["run_id"])


async def _execution_timeout(temporal: Client, run_id: str) -> timedelta:
    described = await temporal.get_workflow_handle(run_id).describe()
    config = described.raw_description.execution_config
    return config.workflow_execution_timeout.ToTimedelta()


async def test_a_run_longer_than_its_flow_timeout_ends_as_timed_out(
    client: httpx.AsyncClient,
    api_services: Services,
    workspace: WorkspaceKey,
    nap: Bundle,
    api_worker: str,
    docker_client: docker.DockerClient,
) -> None:
    flow = insert_flow(api_services, workspace.workspace_id, nap_flow(100, timeout_s=4))
    run_id = await _start(client, workspace, flow.id)

    run = await finished(client, workspace, run_id, timeout_s=60)
    assert run["status"] == "timed_out", run
    assert run["error"]["type"] == "RunTimeout", run
    assert run["error"]["message"] == (
        "the run exceeded its time limit of 4 s (the flow's timeout_s)"
    )
    # the step the run cut short ended with it, after the attempt it was making
    step = run["steps"]["nap"]
    assert step["status"] == "cancelled" and step["attempts"] >= 1, step
    assert step["finished_at"] is not None, step
    listed = await client.get("/v1/runs", params={"status": "timed_out"}, headers=workspace.headers)
    assert run_id in [item["run_id"] for item in listed.json()["items"]]
    # The step's container does not outlive its run: the activity's next heartbeat finds the
    # run gone, and cancelling the activity kills the container.
    by_run = {"label": f"{labels.RUN_ID}={run_id}"}
    for _ in range(300):
        if not docker_client.api.containers(all=True, filters=by_run):
            break
        await asyncio.sleep(0.2)
    assert docker_client.api.containers(all=True, filters=by_run) == []


async def test_every_way_of_starting_a_run_sets_its_timeout(
    client: httpx.AsyncClient, api_services: Services, workspace: WorkspaceKey, nap: Bundle
) -> None:
    temporal = api_services.temporal
    timed = insert_flow(api_services, workspace.workspace_id, nap_flow(0, timeout_s=90))
    untimed = insert_flow(api_services, workspace.workspace_id, nap_flow(0))
    default = timedelta(seconds=DEFAULT_RUN_TIMEOUT_S)

    manual = await _start(client, workspace, timed.id)
    assert await _execution_timeout(temporal, manual) == timedelta(seconds=90)
    assert await _execution_timeout(temporal, await _start(client, workspace, untimed.id)) == (
        default
    )

    rerun = await client.post(f"/v1/runs/{manual}/rerun", headers=workspace.headers)
    assert rerun.status_code == 201, rerun.text
    assert await _execution_timeout(temporal, rerun.json()["run_id"]) == timedelta(seconds=90)

    hook = await client.put(
        f"/v1/flows/{timed.id}/webhook", json={"signed": False}, headers=workspace.headers
    )
    delivered = await client.post(httpx.URL(hook.json()["url"]).path, json={})
    assert delivered.status_code == 202, delivered.text
    assert await _execution_timeout(temporal, delivered.json()["run_id"]) == timedelta(seconds=90)

    schedule = await client.post(
        f"/v1/flows/{timed.id}/schedules",
        json={"interval_s": 3600, "paused": True},
        headers=workspace.headers,
    )
    assert schedule.status_code == 201, schedule.text
    described = await temporal.get_schedule_handle(schedule.json()["id"]).describe()
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.execution_timeout == timedelta(seconds=90)


async def test_a_timeout_above_the_maximum_is_refused_at_save_with_a_pointer(
    client: httpx.AsyncClient, api_services: Services, workspace: WorkspaceKey, nap: Bundle
) -> None:
    maximum = api_services.settings.run_timeout_max_s
    too_long = nap_flow(0, timeout_s=maximum + 1)

    saved = await client.post("/v1/flows", json={"definition": too_long}, headers=workspace.headers)
    [problem] = assert_error(saved, 422)["details"]
    assert problem["pointer"] == "/definition/timeout_s"
    assert "STEPWELL_RUN_TIMEOUT_MAX_S" in problem["message"]
    checked = await client.post(
        "/v1/flows/validate", json={"definition": too_long}, headers=workspace.headers
    )
    assert checked.json()["problems"][0]["pointer"] == "/definition/timeout_s"

    for bad in (0, -5, "soon"):
        answer = await client.post(
            "/v1/flows/validate", json={"definition": nap_flow(0, timeout_s=bad)},
            headers=workspace.headers,
        )  # fmt: skip
        assert [p["pointer"] for p in answer.json()["problems"]] == ["/definition/timeout_s"]

    fine = await client.post(
        "/v1/flows", json={"definition": nap_flow(0, timeout_s=maximum)}, headers=workspace.headers
    )
    assert fine.status_code == 201, fine.text


async def test_a_flow_saved_under_a_higher_maximum_still_runs_with_the_current_one(
    client: httpx.AsyncClient, api_services: Services, workspace: WorkspaceKey, nap: Bundle
) -> None:
    maximum = api_services.settings.run_timeout_max_s
    stored: Flow = insert_flow(  # as saved before the operator lowered the maximum
        api_services, workspace.workspace_id, nap_flow(0, timeout_s=maximum * 10)
    )
    read = await client.get(f"/v1/flows/{stored.id}", headers=workspace.headers)
    assert read.status_code == 200, read.text
    run_id = await _start(client, workspace, stored.id)
    assert await _execution_timeout(api_services.temporal, run_id) == timedelta(seconds=maximum)
