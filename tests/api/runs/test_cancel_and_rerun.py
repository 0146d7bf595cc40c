"""Cancelling a running run (once) and re-running one (same version, same input)."""

from __future__ import annotations

import httpx

from tests.api.helpers import WorkspaceKey, assert_error, finished, insert_flow
from tests.api.runs.helpers import SLUG_FLOW, chatty_flow, start, step_running
from ui_api.services import Services


async def test_a_running_run_is_cancelled_once(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    other_workspace: WorkspaceKey,
    api_services: Services,
    chatty: None,
    api_worker: str,
) -> None:
    flow = insert_flow(api_services, workspace.workspace_id, chatty_flow(60))
    run_id = (await start(client, workspace, flow.id, {}))["run_id"]
    await step_running(client, workspace, run_id, "talk")
    assert_error(
        await client.post(f"/v1/runs/{run_id}/cancel", headers=other_workspace.headers), 404
    )
    answer = await client.post(f"/v1/runs/{run_id}/cancel", headers=workspace.headers)
    assert answer.status_code == 202 and answer.json()["run_id"] == run_id
    run = await finished(client, workspace, run_id, timeout_s=30)
    assert run["status"] == "cancelled" and run["error"]["type"] == "Cancelled"
    again = await client.post(f"/v1/runs/{run_id}/cancel", headers=workspace.headers)
    assert "cancelled" in assert_error(again, 409, "conflict")["message"]


async def test_a_rerun_repeats_the_same_version_with_the_same_input(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    other_workspace: WorkspaceKey,
    slug_flow: str,
    api_worker: str,
) -> None:
    original = (await start(client, workspace, slug_flow, {"t": "Same Input"}))["run_id"]
    await finished(client, workspace, original)
    changed = {**SLUG_FLOW, "output": {"again": "{{ steps.clean.output.slug }}"}}
    saved = await client.put(
        f"/v1/flows/{slug_flow}", json={"definition": changed}, headers=workspace.headers
    )
    assert saved.status_code == 200 and saved.json()["latest_version"] == 2

    assert_error(
        await client.post(f"/v1/runs/{original}/rerun", headers=other_workspace.headers), 404
    )
    key = {"Idempotency-Key": "rerun-1"}
    answer = await client.post(f"/v1/runs/{original}/rerun", headers={**workspace.headers, **key})
    assert answer.status_code == 201, answer.text
    repeat = await client.post(f"/v1/runs/{original}/rerun", headers={**workspace.headers, **key})
    assert repeat.status_code == 200 and repeat.json()["run_id"] == answer.json()["run_id"]
    rerun = await finished(client, workspace, answer.json()["run_id"])
    assert rerun["run_id"] != original and rerun["trigger"] == "rerun"
    assert rerun["flow_version"] == 1 and rerun["input"] == {"t": "Same Input"}
    assert rerun["output"] == {"slug": "same-input"}

    await client.post(f"/v1/flows/{slug_flow}/disable", headers=workspace.headers)
    disabled = await client.post(f"/v1/runs/{original}/rerun", headers=workspace.headers)
    assert "disabled" in assert_error(disabled, 409)["message"]
    await client.delete(f"/v1/flows/{slug_flow}", headers=workspace.headers)
    deleted = await client.post(f"/v1/runs/{original}/rerun", headers=workspace.headers)
    assert "deleted" in assert_error(deleted, 409)["message"]
    # the runs stay readable after their flow is gone
    assert (await client.get(f"/v1/runs/{original}", headers=workspace.headers)).status_code == 200
