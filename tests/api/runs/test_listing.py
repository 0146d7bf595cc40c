"""Listing runs: by flow and status, a page at a time, over safely quoted visibility queries."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.api.helpers import WorkspaceKey, assert_error, finished, insert_flow
from tests.api.runs.helpers import SLUG_FLOW, start
from ui_api.runs.listing import quoted, visibility_query
from ui_api.runs.schemas import RunStatus
from ui_api.services import Services


async def test_runs_are_listed_by_flow_and_status_a_page_at_a_time(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    other_workspace: WorkspaceKey,
    slug_flow: str,
    api_services: Services,
    api_worker: str,
) -> None:
    other_flow = insert_flow(api_services, workspace.workspace_id, SLUG_FLOW).id
    ours = [(await start(client, workspace, slug_flow, {"t": str(i)}))["run_id"] for i in range(3)]
    theirs = (await start(client, workspace, other_flow, {"t": "b"}))["run_id"]
    for run_id in [*ours, theirs]:
        await finished(client, workspace, run_id)

    async def listed(**params: Any) -> dict[str, Any]:
        answer = await client.get("/v1/runs", params=params, headers=workspace.headers)
        assert answer.status_code == 200, answer.text
        page: dict[str, Any] = answer.json()
        return page

    for _ in range(100):  # visibility is eventually consistent
        page = await listed(flow_id=slug_flow, status="succeeded")
        if len(page["items"]) == 3:
            break
        await asyncio.sleep(0.1)
    assert {r["run_id"] for r in page["items"]} == set(ours)
    assert all(r["flow_id"] == slug_flow and r["trigger"] == "manual" for r in page["items"])
    assert all(r["status"] == "succeeded" and r["flow_version"] == 1 for r in page["items"])
    assert (await listed(flow_id=slug_flow, status="failed"))["items"] == []

    everything = await listed()
    assert {r["run_id"] for r in everything["items"]} == {*ours, theirs}
    first = await listed(limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = await listed(limit=2, cursor=first["next_cursor"])
    seen = [r["run_id"] for r in first["items"] + rest["items"]]
    assert sorted(seen) == sorted([*ours, theirs]) and rest["next_cursor"] is None

    foreign = await client.get("/v1/runs", headers=other_workspace.headers)
    assert foreign.json()["items"] == []
    # a cursor belongs to its listing: not to another filter, not to another workspace
    for params, headers in [
        ({"limit": 2, "cursor": first["next_cursor"], "status": "running"}, workspace.headers),
        ({"limit": 2, "cursor": first["next_cursor"]}, other_workspace.headers),
    ]:
        reused = await client.get("/v1/runs", params=params, headers=headers)
        assert assert_error(reused, 422)["details"][0]["pointer"] == "/query/cursor"
    spoof = await client.get(
        "/v1/runs", params={"flow_id": slug_flow}, headers=other_workspace.headers
    )
    assert spoof.json()["items"] == []


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ("flow_id=x' OR StepwellWorkspace != 'y", "/query/flow_id"),
        ('flow_id=a"b', "/query/flow_id"),
        ("status=done", "/query/status"),
        ("limit=0", "/query/limit"),
        ("limit=201", "/query/limit"),
        ("cursor=%25%25", "/query/cursor"),
        ("cursor=bm90LWEtdG9rZW4", "/query/cursor"),  # base64 of garbage
    ],
)
async def test_bad_list_parameters_are_422_not_a_query(
    client: httpx.AsyncClient, workspace: WorkspaceKey, query: str, pointer: str
) -> None:
    error = assert_error(await client.get(f"/v1/runs?{query}", headers=workspace.headers), 422)
    assert error["details"][0]["pointer"] == pointer, error


def test_visibility_queries_quote_only_safe_ids() -> None:
    query = visibility_query("ws_1", "flw_2", RunStatus.timed_out)
    assert query == (
        "WorkflowType = 'FlowRun' AND StepwellWorkspace = 'ws_1' AND StepwellFlow = 'flw_2' "
        "AND ExecutionStatus = 'TimedOut'"
    )
    for hostile in ("a'b", "a b", "", "x" * 101, "a\\b", "ä"):
        with pytest.raises(ValueError, match="not an id"):
            quoted(hostile)
