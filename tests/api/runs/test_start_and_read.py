"""/v1/runs with a real worker: start (idempotent), read back step by step, only with its key."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from step_sdk.bundle import Bundle
from tests.api.helpers import WorkspaceKey, assert_error, finished, insert_flow, insert_step
from tests.api.runs.helpers import FAILING, SLUG_FLOW, chatty_flow, start
from ui_api.services import Services


async def test_a_manual_run_finishes_and_reads_back_step_by_step(
    client: httpx.AsyncClient, workspace: WorkspaceKey, slug_flow: str, api_worker: str
) -> None:
    started = await start(client, workspace, slug_flow, {"t": "Hello World"})
    run_id = started["run_id"]
    assert started["status"] == "running"
    assert started["links"]["self"] == f"/v1/runs/{run_id}"
    assert started["links"]["events"] == f"/v1/runs/{run_id}/events"
    assert started["links"]["temporal_ui"] == (
        f"http://localhost:8233/namespaces/default/workflows/{run_id}"
    )

    run = await finished(client, workspace, run_id)
    assert run["status"] == "succeeded", run
    assert run["output"] == {"slug": "hello-world"} and run["error"] is None
    assert run["input"] == {"t": "Hello World"}
    assert (run["flow_id"], run["flow_version"], run["trigger"]) == (slug_flow, 1, "manual")
    assert run["started_at"] <= run["closed_at"]
    step = run["steps"]["clean"]
    assert step["status"] == "succeeded" and step["attempts"] == 1
    assert step["output"] == {"slug": "hello-world"} and step["error"] is None
    assert step["duration_ms"] > 0 and step["started_at"] <= step["finished_at"]


async def test_an_idempotency_key_starts_one_run(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    other_workspace: WorkspaceKey,
    slug_flow: str,
    api_services: Services,
    example_bundles: list[Bundle],
) -> None:
    key = {"Idempotency-Key": "order-42"}
    body = {"flow_id": slug_flow, "input": {"t": "x"}}
    first = await client.post("/v1/runs", json=body, headers={**workspace.headers, **key})
    again = await client.post("/v1/runs", json=body, headers={**workspace.headers, **key})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["run_id"] == again.json()["run_id"]
    fresh = await client.post(
        "/v1/runs", json=body, headers={**workspace.headers, "Idempotency-Key": "order-43"}
    )
    assert fresh.status_code == 201 and fresh.json()["run_id"] != first.json()["run_id"]

    # the same key for another flow is a mistake, not a replay
    other_flow = insert_flow(api_services, workspace.workspace_id, SLUG_FLOW).id
    reused = await client.post(
        "/v1/runs", json={"flow_id": other_flow}, headers={**workspace.headers, **key}
    )
    assert "Idempotency-Key" in assert_error(reused, 409, "conflict")["message"]
    # another workspace's identical key is its own
    slugify = next(b for b in example_bundles if b.manifest.name == "text.slugify")
    insert_step(api_services, other_workspace.workspace_id, slugify)
    theirs = insert_flow(api_services, other_workspace.workspace_id, SLUG_FLOW).id
    foreign = await client.post(
        "/v1/runs", json={"flow_id": theirs}, headers={**other_workspace.headers, **key}
    )
    assert foreign.status_code == 201 and foreign.json()["run_id"] != first.json()["run_id"]


async def test_starting_refuses_what_cannot_run(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    other_workspace: WorkspaceKey,
    slug_flow: str,
    api_services: Services,
) -> None:
    headers = workspace.headers

    async def post(body: Any, **extra: str) -> httpx.Response:
        return await client.post("/v1/runs", json=body, headers={**headers, **extra})

    assert_error(await post({"flow_id": "flw_nothing"}), 404, "not_found")
    foreign = await client.post(
        "/v1/runs", json={"flow_id": slug_flow}, headers=other_workspace.headers
    )
    assert_error(foreign, 404, "not_found")
    assert (
        "version 7"
        in assert_error(await post({"flow_id": slug_flow, "version": 7}), 404)["message"]
    )
    unpushed = insert_flow(api_services, workspace.workspace_id, chatty_flow(0)).id
    assert "not pushed" in assert_error(await post({"flow_id": unpushed}), 409)["message"]
    big = {"flow_id": slug_flow, "input": {"t": "x" * 600_000}}
    assert_error(await post(big), 413, "payload_too_large")
    for body, pointer in [
        ({}, "/flow_id"),
        ({"flow_id": slug_flow, "version": 0}, "/version"),
        ({"flow_id": slug_flow, "version": "latest"}, "/version"),
        ({"flow_id": "f" * 41}, "/flow_id"),
        ([1], ""),
    ]:
        error = assert_error(await post(body), 422, "invalid")
        assert error["details"][0]["pointer"] == pointer, error
    long_key = await post({"flow_id": slug_flow}, **{"Idempotency-Key": "k" * 201})
    assert assert_error(long_key, 422)["details"][0]["pointer"].startswith("/header")

    disabled = await client.post(f"/v1/flows/{slug_flow}/disable", headers=headers)
    assert disabled.status_code == 200
    assert "disabled" in assert_error(await post({"flow_id": slug_flow}), 409)["message"]


async def test_a_failed_step_shows_its_error_traceback_logs_and_attempts(
    client: httpx.AsyncClient, workspace: WorkspaceKey, api_services: Services, api_worker: str
) -> None:
    insert_step(api_services, workspace.workspace_id, FAILING)
    flow = insert_flow(
        api_services,
        workspace.workspace_id,
        {"name": "fails", "steps": [{"id": "boom", "uses": "test.failing@1.0.0"}]},
    )
    run = await finished(client, workspace, (await start(client, workspace, flow.id))["run_id"])
    assert run["status"] == "failed" and run["output"] is None
    assert run["error"]["type"] == "FlowFailed" and run["error"]["step_id"] == "boom"
    step = run["steps"]["boom"]
    assert step["status"] == "failed" and step["attempts"] == 2
    assert step["error"]["type"] == "StepError" and "no luck" in step["error"]["message"]
    assert "ValueError" in step["error"]["traceback"]
    assert "about to fail" in step["logs"]


# --- access -------------------------------------------------------------------------------------


async def test_another_workspace_sees_no_run(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    other_workspace: WorkspaceKey,
    slug_flow: str,
) -> None:
    run_id = (await start(client, workspace, slug_flow, {"t": "x"}))["run_id"]
    for method, path in [
        ("GET", f"/v1/runs/{run_id}"),
        ("GET", f"/v1/runs/{run_id}/events"),
        ("POST", f"/v1/runs/{run_id}/cancel"),
        ("POST", f"/v1/runs/{run_id}/rerun"),
        ("GET", "/v1/runs/run_does_not_exist"),
        ("GET", "/v1/runs/" + "r" * 300),
    ]:
        answer = await client.request(method, path, headers=other_workspace.headers)
        assert_error(answer, 404, "not_found")
    # unknown and foreign runs answer alike
    unknown = await client.get("/v1/runs/run_does_not_exist", headers=other_workspace.headers)
    foreign = await client.get(f"/v1/runs/{run_id}", headers=other_workspace.headers)
    assert (
        unknown.json()["error"]["message"].replace("run_does_not_exist", run_id)
        == (foreign.json()["error"]["message"])
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/runs"),
        ("GET", "/v1/runs"),
        ("GET", "/v1/runs/run_x"),
        ("GET", "/v1/runs/run_x/events"),
        ("POST", "/v1/runs/run_x/cancel"),
        ("POST", "/v1/runs/run_x/rerun"),
    ],
)
async def test_run_routes_need_a_key(client: httpx.AsyncClient, method: str, path: str) -> None:
    assert_error(await client.request(method, path, json={"flow_id": "x"}), 401, "unauthorized")
    wrong = {"Authorization": "Bearer sw_wrong"}
    assert_error(await client.request(method, path, headers=wrong), 401, "unauthorized")
