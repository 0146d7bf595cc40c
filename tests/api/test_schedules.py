"""Schedules: rows in the database, Temporal Schedules in step with them, runs they start."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from sqlmodel import select
from temporalio.client import (
    Client,
    ScheduleActionStartWorkflow,
    ScheduleDescription,
    WorkflowExecutionStatus,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from step_sdk.bundle import Bundle
from tests.api.conftest import WorkspaceKey, assert_error, insert_flow, insert_step
from ui_api.app import create_app
from ui_api.db import session_scope
from ui_api.errors import ApiError
from ui_api.flows.models import Flow, FlowVersion
from ui_api.schedules.models import Schedule
from ui_api.schedules.rules import cron_problem, interval_problem, timezone_problem
from ui_api.schedules.service import (
    create_schedule,
    delete_flow_schedules,
    sync_flow_schedules,
    temporal_errors,
)
from ui_api.services import Services
from workflows.types import FlowRunInput

pytestmark = pytest.mark.temporal

SLUG_FLOW = {
    "name": "slug",
    "steps": [{"id": "clean", "uses": "text.slugify@1.0.0", "with": {"text": "{{ trigger.t }}"}}],
    "output": {"slug": "{{ steps.clean.output.slug }}"},
}
WEEKDAYS_9 = {"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin", "payload": {"t": "Good Morning"}}


@pytest.fixture
def slug_flow(
    api_services: Services, workspace: WorkspaceKey, example_bundles: list[Bundle]
) -> Flow:
    slugify = next(b for b in example_bundles if b.manifest.name == "text.slugify")
    insert_step(api_services, workspace.workspace_id, slugify)
    return insert_flow(api_services, workspace.workspace_id, SLUG_FLOW)


async def _describe(services: Services, schedule_id: str) -> ScheduleDescription:
    return await services.temporal.get_schedule_handle(schedule_id).describe()


async def _action_input(services: Services, described: ScheduleDescription) -> FlowRunInput:
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    [decoded] = await services.temporal.data_converter.decode(
        list(action.args),
        [FlowRunInput],
    )
    assert isinstance(decoded, FlowRunInput)
    return decoded


def _attributes(described: ScheduleDescription) -> dict[str, Any]:
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    return {pair.key.name: pair.value for pair in action.typed_search_attributes}


def _set_flow(services: Services, flow: Flow, **changes: Any) -> Flow:
    with session_scope(services.engine) as session:
        row = session.get(Flow, flow.id)
        assert row is not None
        for name, value in changes.items():
            setattr(row, name, value)
        session.add(row)
    return row


async def _create(
    client: httpx.AsyncClient, workspace: WorkspaceKey, flow: Flow, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/flows/{flow.id}/schedules", json=body, headers=workspace.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _count_rows(services: Services, flow: Flow) -> int:
    with session_scope(services.engine) as session:
        return len(session.exec(select(Schedule).where(Schedule.flow_id == flow.id)).all())


# --- the rules, without any server ------------------------------------------------------------


@pytest.mark.parametrize(
    ("cron", "fragment"),
    [
        ("0 9 * *", "needs 5 fields"),
        ("0 0 9 * * 1-5", "found 6"),
        ("@daily", "found 1"),
        ("61 * * * *", "minute field '61': 61 is outside 0-59"),
        ("* 24 * * *", "outside 0-23"),
        ("* * 0 * *", "outside 1-31"),
        ("*/0 * * * *", "step of 0"),
        ("5-1 * * * *", "runs backwards"),
        ("* * * foo *", "'foo' is not a number"),
        ("* * * * 1-5/x", "is not '*'"),
        ("CRON_TZ=UTC 0 * * *", "is not a number"),
    ],
)
def test_bad_cron_expressions_are_explained(cron: str, fragment: str) -> None:
    problem = cron_problem(cron)
    assert problem is not None and fragment in problem


@pytest.mark.parametrize(
    "cron", ["0 9 * * 1-5", "*/15 * * * *", "0 0 1 jan,jul *", "30 6 * * MON-FRI", "0 0 * * 7"]
)
def test_good_cron_expressions_pass(cron: str) -> None:
    assert cron_problem(cron) is None


def test_time_zones_and_intervals_are_checked() -> None:
    assert timezone_problem("Europe/Berlin") is None and timezone_problem("UTC") is None
    assert timezone_problem("Mars/Olympus") is not None
    assert timezone_problem("../../etc/passwd") is not None
    assert timezone_problem("localtime") is not None  # the server's zone, not a place
    assert "shortest interval is 60 s, because" in (interval_problem(59) or "")
    assert interval_problem(60) is None and interval_problem(10**12) is not None


def test_temporal_refusals_become_422_and_its_absence_503() -> None:
    with pytest.raises(ApiError) as caught, temporal_errors():
        raise RPCError("invalid time zone name", RPCStatusCode.INVALID_ARGUMENT, b"")
    assert caught.value.status == 422
    assert [p.pointer for p in caught.value.details] == ["/timezone"]
    with pytest.raises(ApiError) as caught, temporal_errors():
        raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")
    assert caught.value.status == 503 and "connection refused" in caught.value.message


# --- sync_flow_schedules and delete_flow_schedules, as the flows API calls them --------------


async def test_sync_follows_the_flow_version_and_pauses_with_the_flow(
    api_services: Services, workspace: WorkspaceKey, slug_flow: Flow
) -> None:
    with session_scope(api_services.engine) as session:
        row = Schedule(workspace_id=workspace.workspace_id, flow_id=slug_flow.id, interval_s=3600)
        session.add(row)
        session.flush()
        await create_schedule(api_services, session, slug_flow, row)
    described = await _describe(api_services, row.id)
    assert not described.schedule.state.paused
    assert (await _action_input(api_services, described)).flow_version == 1
    assert _attributes(described)["StepwellTrigger"] == "schedule"

    # a new version, and the flow disabled: the schedule follows both
    with session_scope(api_services.engine) as session:
        renamed = {**SLUG_FLOW, "output": {"slug2": "{{ steps.clean.output.slug }}"}}
        session.add(FlowVersion(flow_id=slug_flow.id, version=2, definition=renamed))
    flow = _set_flow(api_services, slug_flow, latest_version=2, enabled=False)
    with session_scope(api_services.engine) as session:
        await sync_flow_schedules(api_services, session, flow)
    described = await _describe(api_services, row.id)
    assert described.schedule.state.paused
    run_input = await _action_input(api_services, described)
    assert run_input.flow_version == 2 and run_input.definition["output"] == renamed["output"]
    assert _attributes(described)["StepwellFlowVersion"] == 2

    flow = _set_flow(api_services, flow, enabled=True)
    with session_scope(api_services.engine) as session:
        await sync_flow_schedules(api_services, session, flow)
    assert not (await _describe(api_services, row.id)).schedule.state.paused

    # a paused row stays paused when its flow is enabled
    with session_scope(api_services.engine) as session:
        stored = session.get(Schedule, row.id)
        assert stored is not None
        stored.paused = True
        session.add(stored)
        await sync_flow_schedules(api_services, session, flow)
    assert (await _describe(api_services, row.id)).schedule.state.paused

    with session_scope(api_services.engine) as session:
        await delete_flow_schedules(api_services, session, flow)
        # the flow can go in the same transaction (as the flows API deletes it)
        for version in session.exec(select(FlowVersion).where(FlowVersion.flow_id == flow.id)):
            session.delete(version)
        session.flush()
        session.delete(session.get(Flow, flow.id))
    with pytest.raises(RPCError) as caught:
        await _describe(api_services, row.id)
    assert caught.value.status == RPCStatusCode.NOT_FOUND
    assert await _count_rows(api_services, flow) == 0


async def test_sync_recreates_a_schedule_that_temporal_lost(
    api_services: Services, workspace: WorkspaceKey, slug_flow: Flow
) -> None:
    with session_scope(api_services.engine) as session:
        row = Schedule(workspace_id=workspace.workspace_id, flow_id=slug_flow.id, cron="0 * * * *")
        session.add(row)
        session.flush()
        await create_schedule(api_services, session, slug_flow, row)
    await api_services.temporal.get_schedule_handle(row.id).delete()
    with session_scope(api_services.engine) as session:
        await sync_flow_schedules(api_services, session, slug_flow)
    spec = (await _describe(api_services, row.id)).schedule.spec
    assert spec.calendars or spec.cron_expressions  # the server may turn cron into calendars


# --- the HTTP API ------------------------------------------------------------------------------


async def test_a_cron_schedule_shows_its_next_fire_times_in_its_time_zone(
    client: httpx.AsyncClient, workspace: WorkspaceKey, slug_flow: Flow
) -> None:
    created = await _create(client, workspace, slug_flow, {**WEEKDAYS_9, "note": "standup"})
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
    created = await _create(client, workspace, slug_flow, {"interval_s": 3600})
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

    schedule = (await _create(client, workspace, slug_flow, WEEKDAYS_9))["id"]
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
    assert not (await _describe(api_services, schedule)).schedule.state.paused
    assert await _count_rows(api_services, slug_flow) == 1


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
    assert await _count_rows(api_services, slug_flow) == 0


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
    assert await _count_rows(api_services, flow) == 0


@pytest_asyncio.fixture
async def broken_temporal_client(
    api_services: Services, temporal: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    """The API with a Temporal client for a namespace that does not exist: every call fails."""
    config = temporal.client.config()
    broken = await Client.connect(
        config["service_client"].config.target_host, namespace=f"missing-{secrets.token_hex(4)}"
    )
    app = create_app(dataclasses.replace(api_services, temporal=broken))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://stepwell.test") as http:
        yield http


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
    assert await _count_rows(api_services, slug_flow) == 0


async def test_a_change_is_pushed_to_temporal_and_bad_changes_keep_the_old_schedule(
    client: httpx.AsyncClient, workspace: WorkspaceKey, slug_flow: Flow, api_services: Services
) -> None:
    schedule = (await _create(client, workspace, slug_flow, WEEKDAYS_9))["id"]
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
    described = await _describe(api_services, schedule)
    assert [i.every.total_seconds() for i in described.schedule.spec.intervals] == [7200]
    assert not described.schedule.spec.cron_expressions
    assert (await _action_input(api_services, described)).trigger == {"t": "Later"}

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
    described = await _describe(api_services, schedule)
    assert [i.every.total_seconds() for i in described.schedule.spec.intervals] == [7200]

    back = await client.patch(path, json={"cron": "*/30 * * * *"}, headers=workspace.headers)
    assert (back.json()["cron"], back.json()["interval_s"]) == ("*/30 * * * *", None)


async def test_pause_resume_and_a_disabled_flow(
    client: httpx.AsyncClient, workspace: WorkspaceKey, slug_flow: Flow, api_services: Services
) -> None:
    schedule = (await _create(client, workspace, slug_flow, WEEKDAYS_9))["id"]
    path = f"/v1/schedules/{schedule}"

    paused = await client.post(f"{path}/pause", headers=workspace.headers)
    assert paused.status_code == 200 and paused.json()["paused"] and not paused.json()["active"]
    assert (await _describe(api_services, schedule)).schedule.state.paused
    assert (await client.get(path, headers=workspace.headers)).json()["next_fire_times"] == []
    again = await client.post(f"{path}/pause", headers=workspace.headers)
    assert again.status_code == 200

    resumed = await client.post(f"{path}/resume", headers=workspace.headers)
    assert resumed.status_code == 200 and resumed.json()["active"]
    assert not (await _describe(api_services, schedule)).schedule.state.paused

    # disabling the flow pauses it (the flows API calls sync_flow_schedules)
    flow = _set_flow(api_services, slug_flow, enabled=False)
    with session_scope(api_services.engine) as session:
        await sync_flow_schedules(api_services, session, flow)
    assert (await _describe(api_services, schedule)).schedule.state.paused
    shown = (await client.get(path, headers=workspace.headers)).json()
    assert not shown["paused"] and not shown["active"] and shown["next_fire_times"] == []

    error = assert_error(await client.post(f"{path}/resume", headers=workspace.headers), 409)
    assert "disabled" in error["message"]
    assert_error(await client.post(f"{path}/trigger", headers=workspace.headers), 409)
    assert (await _describe(api_services, schedule)).schedule.state.paused

    # created while the flow is disabled: paused in Temporal, not by the user
    late = await _create(client, workspace, flow, {"interval_s": 600})
    assert not late["paused"] and not late["active"]
    assert (await _describe(api_services, late["id"])).schedule.state.paused


async def test_a_deleted_schedule_is_gone_from_temporal(
    client: httpx.AsyncClient, workspace: WorkspaceKey, slug_flow: Flow, api_services: Services
) -> None:
    schedule = (await _create(client, workspace, slug_flow, WEEKDAYS_9))["id"]
    path = f"/v1/schedules/{schedule}"
    response = await client.delete(path, headers=workspace.headers)
    assert response.status_code == 204 and response.content == b""
    assert_error(await client.get(path, headers=workspace.headers), 404)
    assert_error(await client.delete(path, headers=workspace.headers), 404)
    with pytest.raises(RPCError):
        await _describe(api_services, schedule)


async def test_a_schedule_lost_by_temporal_is_put_back_when_read(
    client: httpx.AsyncClient, workspace: WorkspaceKey, slug_flow: Flow, api_services: Services
) -> None:
    schedule = (await _create(client, workspace, slug_flow, WEEKDAYS_9))["id"]
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
    schedule = await _create(client, workspace, slug_flow, {**WEEKDAYS_9, "paused": True})
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
