"""Concurrent changes to a flow and its schedules leave Temporal as the database says.

A change reaches Temporal and the database in two steps; requests that interleave them must
not leave a disabled flow with a live schedule, a paused row with a running schedule, or a
schedule on another version than the flow's latest.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from temporalio.service import RPCError, RPCStatusCode

from tests.api.helpers import WorkspaceKey
from tests.api.schedules.helpers import SLUG_FLOW, action_input, describe_schedule, post_schedule
from ui_api.flows.models import Flow
from ui_api.services import Services

pytestmark = pytest.mark.temporal


async def _agree(client: httpx.AsyncClient, workspace: WorkspaceKey, services: Services) -> None:
    """Every schedule of the workspace's flows is paused in Temporal iff the database says so,
    and runs the flow's latest version."""
    flows = (await client.get("/v1/flows", headers=workspace.headers)).json()["items"]
    for flow in flows:
        path = f"/v1/flows/{flow['id']}/schedules"
        for row in (await client.get(path, headers=workspace.headers)).json():
            described = await describe_schedule(services, row["id"])
            assert described.schedule.state.paused is (not row["active"]), (flow, row)
            run_input = await action_input(services, described)
            assert run_input.flow_version == flow["latest_version"], (flow, row)


async def test_concurrent_enables_disables_pauses_and_saves_agree_with_temporal(
    client: httpx.AsyncClient, workspace: WorkspaceKey, api_services: Services, slug_flow: Flow
) -> None:
    headers = workspace.headers
    first = await post_schedule(client, workspace, slug_flow, {"interval_s": 3600})
    flow_path, schedule_path = f"/v1/flows/{slug_flow.id}", f"/v1/schedules/{first['id']}"
    renamed: dict[str, Any] = {**SLUG_FLOW, "output": {"other": "{{ steps.clean.output }}"}}
    for _ in range(4):
        answers = await asyncio.gather(
            client.post(f"{flow_path}/disable", headers=headers),
            client.post(f"{flow_path}/enable", headers=headers),
            client.post(f"{flow_path}/disable", headers=headers),
            client.post(f"{schedule_path}/pause", headers=headers),
            client.post(f"{schedule_path}/resume", headers=headers),
            client.put(flow_path, json={"definition": SLUG_FLOW}, headers=headers),
            client.put(flow_path, json={"definition": renamed}, headers=headers),
            client.post(f"{flow_path}/schedules", json={"interval_s": 7200}, headers=headers),
        )
        assert all(a.status_code in (200, 201, 409) for a in answers), [a.text for a in answers]
        await _agree(client, workspace, api_services)


async def test_reads_and_triggers_racing_a_delete_never_bring_a_schedule_back(
    client: httpx.AsyncClient, workspace: WorkspaceKey, api_services: Services, slug_flow: Flow
) -> None:
    headers = workspace.headers
    for _ in range(3):
        ids = [
            (await post_schedule(client, workspace, slug_flow, {"interval_s": 3600}))["id"]
            for _ in range(2)
        ]
        racing = [client.get(f"/v1/schedules/{i}", headers=headers) for i in ids * 3]
        racing += [client.post(f"/v1/schedules/{i}/trigger", headers=headers) for i in ids]
        answers = await asyncio.gather(
            client.delete(f"/v1/schedules/{ids[0]}", headers=headers), *racing
        )
        assert all(a.status_code < 500 for a in answers), [a.text for a in answers]
        with pytest.raises(RPCError) as gone:
            await describe_schedule(api_services, ids[0])
        assert gone.value.status == RPCStatusCode.NOT_FOUND
        await client.delete(f"/v1/schedules/{ids[1]}", headers=headers)


async def test_a_flow_deleted_while_its_schedules_are_read_leaves_none_in_temporal(
    client: httpx.AsyncClient, workspace: WorkspaceKey, api_services: Services, slug_flow: Flow
) -> None:
    headers = workspace.headers
    ids = [
        (await post_schedule(client, workspace, slug_flow, {"interval_s": 3600}))["id"]
        for _ in range(3)
    ]
    racing = [client.get(f"/v1/schedules/{i}", headers=headers) for i in ids * 2]
    racing += [client.post(f"/v1/schedules/{i}/trigger", headers=headers) for i in ids]
    answers = await asyncio.gather(
        client.delete(f"/v1/flows/{slug_flow.id}", headers=headers), *racing
    )
    assert all(a.status_code < 500 for a in answers), [a.text for a in answers]
    for schedule_id in ids:
        with pytest.raises(RPCError) as gone:
            await describe_schedule(api_services, schedule_id)
        assert gone.value.status == RPCStatusCode.NOT_FOUND
