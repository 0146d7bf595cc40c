"""/v1/flows/{id}/schedules: create, read, change, pause, delete, trigger, in step with Temporal."""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from tests.api.helpers import WorkspaceKey, assert_error, insert_flow
from tests.api.schedules.helpers import (
    SLUG_FLOW,
    WEEKDAYS_9,
    action_input,
    count_rows,
    describe_schedule,
    post_schedule,
    set_flow,
)
from ui_api.db import session_scope
from ui_api.flows.models import Flow
from ui_api.schedules.service import plan_flow_schedules, push_all
from ui_api.services import Services

pytestmark = pytest.mark.temporal


async def test_a_cron_schedule_shows_its_next_fire_times_in_its_time_zone(
    client: httpx.AsyncClient, workspace: WorkspaceKey, slug_flow: Flow
) -> None:
    created = await post_schedule(client, workspace, slug_flow, {**WEEKDAYS_9, "note": "standup"})
    assert created["active"] and not created["paused"] and created["note"] == "standup"
    assert created["run_id_prefix"] == f"run_{created['id']}"

    response = await client.get(f"/v1/schedules/{created['id']}", headers=workspace.headers)
    assert response.status_code == 200
    detail = response.json()
    fires = [datetime.fromisoformat(t) for t in detail["next_fire_times"]]
    assert len(fires) == 5 and fires == sorted(fires) and fires[0] > datetime.now(UTC)
    for fire in fires:
        local = fire.astimezone(ZoneInfo("Europe/Berlin"))
        assert (local.hour, local.minute, local.isoweekday() <= 5) == (9, 0, True)
    assert detail["recent_runs"] == [] and detail["runs_started"] == 0

    listed = await client.get(f"/v1/flows/{slug_flow.id}/schedules", headers=workspace.headers)
    assert [s["id"] for s in listed.json()] == [created["id"]]


async def test_an_interval_schedule_fires_on_its_interval(
    client: httpx.AsyncClient, workspace: WorkspaceKey, slug_flow: Flow
) -> None:
    created = await post_schedule(client, workspace, slug_flow, {"interval_s": 3600})
    assert created["timezone"] == "UTC" and created["cron"] is None
    detail = (await client.get(f"/v1/schedules/{created['id']}", headers=workspace.headers)).json()
    fires = [datetime.fromisoformat(t) for t in detail["next_fire_times"]]
    assert [(b - a).total_seconds() for a, b in itertools.pairwise(fires)] == [3600] * 4


async def test_schedules_need_a_key_and_stay_in_their_workspace(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    other_workspace: WorkspaceKey,
    slug_flow: Flow,
    api_services: Services,
) -> None:
    path = f"/v1/flows/{slug_flow.id}/schedules"
    assert_error(await client.post(path, json=WEEKDAYS_9), 401, "unauthorized")
    assert_error(
        await client.get(path, headers={"Authorization": "Bearer sw_wrong"}), 401, "unauthorized"
    )
    # another workspace's flow is as missing as a flow that does not exist
    for target in (path, "/v1/flows/flw_missing/schedules"):
        assert_error(
            await client.post(target, json=WEEKDAYS_9, headers=other_workspace.headers), 404
        )
        assert_error(await client.get(target, headers=other_workspace.headers), 404)

    schedule = (await post_schedule(client, workspace, slug_flow, WEEKDAYS_9))["id"]
    theirs = other_workspace.headers
    for method, suffix in [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", "/pause"),
        ("POST", "/resume"),
        ("POST", "/trigger"),
    ]:
        for target in (schedule, "sch_missing"):
            response = await client.request(
                method, f"/v1/schedules/{target}{suffix}", headers=theirs, json={}
            )
            error = assert_error(response, 404, "not_found")
            assert target in error["message"]
    # untouched by all that
    assert not (await describe_schedule(api_services, schedule)).schedule.state.paused
    assert await count_rows(api_services, slug_flow) == 1


@pytest.mark.parametrize(
    ("body", "pointer", "fragment"),
    [
        ({"timezone": "UTC"}, "/cron", "exactly one of 'cron' and 'interval_s'"),
        ({"cron": "0 9 * * *", "interval_s": 3600}, "/cron", "exactly one"),
        ({"cron": "0 9 * *"}, "/cron", "needs 5 fields"),
        ({"cron": "0 25 * * *"}, "/cron", "hour field '25': 25 is outside 0-23"),
        ({"interval_s": 10}, "/interval_s", "shortest interval is 60 s, because"),
        ({"interval_s": -60}, "/interval_s", "shortest interval"),
        ({"interval_s": "hourly"}, "/interval_s", "valid integer"),
        ({"cron": "0 9 * * *", "timezone": "Mars/Olympus"}, "/timezone", "IANA time zone"),
        ({"cron": "0 9 * * *", "timezone": "../../../etc/passwd"}, "/timezone", "IANA"),
        ({"cron": "0 9 * * *", "note": "x" * 501}, "/note", "at most 500"),
        ({"cron": "0 9 * * *", "note": "a\x00b"}, "/note", "NUL"),
        ({"cron": "0 9 * * *", "payload": {"k": "\ud800"}}, "/payload/k", "surrogate"),
        ({"cron": "0 9 * * *", "payload": "x" * 70000}, "/payload", "the limit is 65536"),
        ({"cron": "0 9 * * *", "paused": "maybe"}, "/paused", "valid boolean"),
        ({"cron": "0 9 * * *", "priority": 1}, "/priority", "Extra inputs"),
    ],
)
async def test_bad_schedules_are_refused_with_pointers_and_leave_nothing(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    slug_flow: Flow,
    api_services: Services,
    body: dict[str, Any],
    pointer: str,
    fragment: str,
) -> None:
    response = await client.post(
        f"/v1/flows/{slug_flow.id}/schedules",
        content=json.dumps(body),  # escapes lone surrogates as JSON allows (httpx would refuse)
        headers={**workspace.headers, "Content-Type": "application/json"},
    )
    error = assert_error(response, 422, "invalid")
    assert any(d["pointer"] == pointer and fragment in d["message"] for d in error["details"]), (
        error
    )
    assert await count_rows(api_services, slug_flow) == 0


async def test_a_body_that_is_not_json_is_refused(
    client: httpx.AsyncClient, workspace: WorkspaceKey, slug_flow: Flow
) -> None:
    response = await client.post(
        f"/v1/flows/{slug_flow.id}/schedules",
        content=b'{"cron": ',
        headers={**workspace.headers, "Content-Type": "application/json"},
    )
    assert_error(response, 422, "invalid")


async def test_a_flow_with_an_unpushed_step_cannot_be_scheduled(
    client: httpx.AsyncClient, workspace: WorkspaceKey, api_services: Services
) -> None:
    flow = insert_flow(api_services, workspace.workspace_id, SLUG_FLOW)  # step never pushed
    response = await client.post(
        f"/v1/flows/{flow.id}/schedules", json=WEEKDAYS_9, headers=workspace.headers
    )
    assert "not pushed" in assert_error(response, 409, "conflict")["message"]
    assert await count_rows(api_services, flow) == 0


async def test_when_temporal_fails_the_row_is_rolled_back(
    broken_temporal_client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    slug_flow: Flow,
    api_services: Services,
) -> None:
    response = await broken_temporal_client.post(
        f"/v1/flows/{slug_flow.id}/schedules", json=WEEKDAYS_9, headers=workspace.headers
    )
    assert "Temporal" in assert_error(response, 503, "unavailable")["message"]
    assert await count_rows(api_services, slug_flow) == 0


async def test_a_change_is_pushed_to_temporal_and_bad_changes_keep_the_old_schedule(
    client: httpx.AsyncClient, workspace: WorkspaceKey, slug_flow: Flow, api_services: Services
) -> None:
    schedule = (await post_schedule(client, workspace, slug_flow, WEEKDAYS_9))["id"]
    path = f"/v1/schedules/{schedule}"

    changed = await client.patch(
        path,
        json={"interval_s": 7200, "payload": {"t": "Later"}, "note": "every 2h"},
        headers=workspace.headers,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["cron"], body["interval_s"], body["note"]) == (None, 7200, "every 2h")
    assert body["timezone"] == "Europe/Berlin"  # left out: kept
    described = await describe_schedule(api_services, schedule)
    assert [i.every.total_seconds() for i in described.schedule.spec.intervals] == [7200]
    assert not described.schedule.spec.cron_expressions
    assert (await action_input(api_services, described)).trigger == {"t": "Later"}

    for bad, pointer in [
        ({"cron": "0 9 * * *", "interval_s": 3600}, "/cron"),
        ({"cron": "99 * * * *"}, "/cron"),
        ({"timezone": "Nowhere/Land"}, "/timezone"),
        ({"paused": True}, "/paused"),
    ]:
        error = assert_error(await client.patch(path, json=bad, headers=workspace.headers), 422)
        assert [d["pointer"] for d in error["details"]] == [pointer], error
    kept = (await client.get(path, headers=workspace.headers)).json()
    assert (kept["interval_s"], kept["timezone"], kept["payload"]) == (
        7200,
        "Europe/Berlin",
        {"t": "Later"},
    )
    described = await describe_schedule(api_services, schedule)
    assert [i.every.total_seconds() for i in described.schedule.spec.intervals] == [7200]

    back = await client.patch(path, json={"cron": "*/30 * * * *"}, headers=workspace.headers)
    assert (back.json()["cron"], back.json()["interval_s"]) == ("*/30 * * * *", None)


async def test_pause_resume_and_a_disabled_flow(
    client: httpx.AsyncClient, workspace: WorkspaceKey, slug_flow: Flow, api_services: Services
) -> None:
    schedule = (await post_schedule(client, workspace, slug_flow, WEEKDAYS_9))["id"]
    path = f"/v1/schedules/{schedule}"

    paused = await client.post(f"{path}/pause", headers=workspace.headers)
    assert paused.status_code == 200 and paused.json()["paused"] and not paused.json()["active"]
    assert (await describe_schedule(api_services, schedule)).schedule.state.paused
    assert (await client.get(path, headers=workspace.headers)).json()["next_fire_times"] == []
    again = await client.post(f"{path}/pause", headers=workspace.headers)
    assert again.status_code == 200

    resumed = await client.post(f"{path}/resume", headers=workspace.headers)
    assert resumed.status_code == 200 and resumed.json()["active"]
    assert not (await describe_schedule(api_services, schedule)).schedule.state.paused

    # disabling the flow pauses it (as the flows API does)
    flow = set_flow(api_services, slug_flow, enabled=False)
    with session_scope(api_services.engine) as session:
        await push_all(api_services, plan_flow_schedules(api_services, session, flow))
    assert (await describe_schedule(api_services, schedule)).schedule.state.paused
    shown = (await client.get(path, headers=workspace.headers)).json()
    assert not shown["paused"] and not shown["active"] and shown["next_fire_times"] == []

    error = assert_error(await client.post(f"{path}/resume", headers=workspace.headers), 409)
    assert "disabled" in error["message"]
    assert_error(await client.post(f"{path}/trigger", headers=workspace.headers), 409)
    assert (await describe_schedule(api_services, schedule)).schedule.state.paused

    # created while the flow is disabled: paused in Temporal, not by the user
    late = await post_schedule(client, workspace, flow, {"interval_s": 600})
    assert not late["paused"] and not late["active"]
    assert (await describe_schedule(api_services, late["id"])).schedule.state.paused


async def test_a_deleted_schedule_is_gone_from_temporal(
    client: httpx.AsyncClient, workspace: WorkspaceKey, slug_flow: Flow, api_services: Services
) -> None:
    schedule = (await post_schedule(client, workspace, slug_flow, WEEKDAYS_9))["id"]
    path = f"/v1/schedules/{schedule}"
    response = await client.delete(path, headers=workspace.headers)
    assert response.status_code == 204 and response.content == b""
    assert_error(await client.get(path, headers=workspace.headers), 404)
    assert_error(await client.delete(path, headers=workspace.headers), 404)
    with pytest.raises(RPCError):
        await describe_schedule(api_services, schedule)


async def test_a_schedule_lost_by_temporal_is_put_back_when_read(
    client: httpx.AsyncClient, workspace: WorkspaceKey, slug_flow: Flow, api_services: Services
) -> None:
    schedule = (await post_schedule(client, workspace, slug_flow, WEEKDAYS_9))["id"]
    await api_services.temporal.get_schedule_handle(schedule).delete()
    response = await client.get(f"/v1/schedules/{schedule}", headers=workspace.headers)
    assert response.status_code == 200 and len(response.json()["next_fire_times"]) == 5


async def test_trigger_starts_a_run_that_finishes(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    slug_flow: Flow,
    api_services: Services,
    api_worker: str,
) -> None:
    schedule = await post_schedule(client, workspace, slug_flow, {**WEEKDAYS_9, "paused": True})
    response = await client.post(
        f"/v1/schedules/{schedule['id']}/trigger", headers=workspace.headers
    )
    assert response.status_code == 202, response.text
    assert response.json()["run_id_prefix"] == schedule["run_id_prefix"]

    temporal = api_services.temporal
    query = f'StepwellFlow = "{slug_flow.id}"'
    runs: list[Any] = []
    for _ in range(100):  # visibility is eventually consistent
        runs = [run async for run in temporal.list_workflows(query)]
        if runs:
            break
        await asyncio.sleep(0.2)
    assert len(runs) == 1 and runs[0].id.startswith(schedule["run_id_prefix"])
    result = await temporal.get_workflow_handle(runs[0].id).result()
    assert result["output"] == {"slug": "good-morning"}
    described = await temporal.get_workflow_handle(runs[0].id).describe()
    assert described.status == WorkflowExecutionStatus.COMPLETED
    attributes = {p.key.name: p.value for p in described.typed_search_attributes}
    assert attributes["StepwellTrigger"] == "schedule"
    assert attributes["StepwellWorkspace"] == workspace.workspace_id

    detail = (await client.get(f"/v1/schedules/{schedule['id']}", headers=workspace.headers)).json()
    assert [r["run_id"] for r in detail["recent_runs"]] == [runs[0].id]
    assert detail["runs_started"] == 1 and detail["paused"]
