"""What schedules mean, as the real Temporal server computes it: classic cron day matching,
intervals counted from creation, daylight-saving days, overlap policies and skipped fires."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from temporalio.client import (
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleBackfill,
    ScheduleHandle,
    ScheduleOverlapPolicy,
    ScheduleState,
)

from tests.api.helpers import NAP, WorkspaceKey, assert_error, insert_flow, insert_step
from tests.api.schedules.helpers import post_schedule
from ui_api.flows.models import Flow
from ui_api.schedules.models import Schedule as ScheduleRow
from ui_api.schedules.service import schedule_spec
from ui_api.services import Services

pytestmark = pytest.mark.temporal

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def nap_flow(api_services: Services, workspace: WorkspaceKey) -> Flow:
    insert_step(api_services, workspace.workspace_id, NAP)
    definition = {
        "name": "nap",
        "timeout_s": 120,
        "steps": [{"id": "nap", "uses": "test.nap@1.0.0", "with": {"seconds": 100}}],
    }
    return insert_flow(api_services, workspace.workspace_id, definition)


async def _detail(
    client: httpx.AsyncClient, workspace: WorkspaceKey, schedule_id: str
) -> dict[str, Any]:
    response = await client.get(f"/v1/schedules/{schedule_id}", headers=workspace.headers)
    assert response.status_code == 200, response.text
    detail: dict[str, Any] = response.json()
    return detail


def _times(detail: dict[str, Any]) -> list[datetime]:
    return [datetime.fromisoformat(t) for t in detail["next_fire_times"]]


def classic_fires(after: datetime, zone: ZoneInfo, count: int) -> list[datetime]:
    """The next ``count`` fires of ``0 9 1 * MON`` as classic cron has them: 09:00 on every
    Monday and on every 1st of a month."""
    fires: list[datetime] = []
    day = after.astimezone(zone).date()
    while len(fires) < count:
        if day.day == 1 or day.isoweekday() == 1:
            fire = datetime.combine(day, time(9), tzinfo=zone)
            if fire > after:
                fires.append(fire)
        day += timedelta(days=1)
    return fires


async def test_cron_with_both_day_fields_fires_on_either_day_as_classic_cron_does(
    client: httpx.AsyncClient, workspace: WorkspaceKey, nap_flow: Flow
) -> None:
    asked_at = datetime.now(UTC)
    created = await post_schedule(
        client, workspace, nap_flow, {"cron": "0 9 1 * MON", "timezone": "Europe/Berlin"}
    )
    fires = _times(await _detail(client, workspace, created["id"]))
    assert fires == classic_fires(asked_at, BERLIN, 5)


async def test_an_interval_counts_from_when_the_schedule_was_created(
    client: httpx.AsyncClient, workspace: WorkspaceKey, nap_flow: Flow
) -> None:
    week = 7 * 24 * 3600
    for interval_s in (week, 3600 + 7):
        created = await post_schedule(client, workspace, nap_flow, {"interval_s": interval_s})
        start = datetime.fromisoformat(created["created_at"]).replace(microsecond=0)
        fires = _times(await _detail(client, workspace, created["id"]))
        step = timedelta(seconds=interval_s)
        assert fires == [start + step * k for k in range(1, 6)], (created, fires)


def _transition_days(zone: ZoneInfo, after: date) -> tuple[date, date]:
    """The next day the zone's clocks go forward, and the next day they go back."""
    forward = back = None
    day = after
    while forward is None or back is None:
        before = datetime.combine(day, time(0), tzinfo=zone).utcoffset()
        later = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).utcoffset()
        assert before is not None and later is not None
        if later > before and forward is None:
            forward = day
        if later < before and back is None:
            back = day
        day += timedelta(days=1)
    return forward, back


@pytest_asyncio.fixture
async def probe(api_services: Services) -> AsyncIterator[list[ScheduleHandle]]:
    """Temporal Schedules made by the test, deleted after it."""
    made: list[ScheduleHandle] = []
    yield made
    for handle in made:
        await handle.delete()


async def _fires_between(
    services: Services,
    probe: list[ScheduleHandle],
    row: ScheduleRow,
    start: datetime,
    end: datetime,
) -> list[datetime]:
    """The fire times Temporal computes for the row's spec between ``start`` and ``end``."""
    spec = dataclasses.replace(schedule_spec(row), start_at=start, end_at=end)
    action = ScheduleActionStartWorkflow(
        "Nothing", id=f"never-{secrets.token_hex(4)}", task_queue="nobody-polls-this"
    )
    handle = await services.temporal.create_schedule(
        f"dst-{secrets.token_hex(6)}",
        Schedule(action=action, spec=spec, state=ScheduleState(note="a DST probe")),
    )
    probe.append(handle)
    described = await handle.describe()
    return [t for t in described.info.next_action_times if t <= end]


async def test_daylight_saving_days_as_temporal_computes_them(
    api_services: Services, probe: list[ScheduleHandle]
) -> None:
    """What README "Schedules" promises for the two DST days of a schedule's time zone."""
    forward, back = _transition_days(BERLIN, datetime.now(UTC).date() + timedelta(days=2))
    daily = ScheduleRow(workspace_id="-", flow_id="-", cron="30 2 * * *", timezone="Europe/Berlin")
    hourly = ScheduleRow(workspace_id="-", flow_id="-", cron="30 * * * *", timezone="Europe/Berlin")

    def at(day: date, hour: int, minute: int = 30, *, fold: int = 0) -> datetime:
        # In UTC: Python never finds an ambiguous local time equal to another zone's time.
        local = datetime.combine(day, time(hour, minute, fold=fold), tzinfo=BERLIN)
        return local.astimezone(UTC)

    async def fires(row: ScheduleRow, start: datetime, end: datetime) -> list[datetime]:
        return await _fires_between(api_services, probe, row, start, end)

    # Spring forward: 02:00-03:00 does not exist. The daily 02:30 does not fire that day; the
    # hourly one fires at 01:30 and then 03:30.
    around = (at(forward - timedelta(days=1), 12, 0), at(forward + timedelta(days=1), 12, 0))
    assert await fires(daily, *around) == [at(forward + timedelta(days=1), 2)]
    assert await fires(hourly, at(forward, 0, 0), at(forward, 5, 0)) == [
        at(forward, 0), at(forward, 1), at(forward, 3), at(forward, 4)
    ]  # fmt: skip

    # Fall back: 02:00-03:00 happens twice. The daily 02:30 fires once, at the second 02:30
    # (after the clocks went back); the hourly one fires at the first 02:30 only.
    around = (at(back - timedelta(days=1), 12, 0), at(back + timedelta(days=1), 12, 0))
    assert await fires(daily, *around) == [at(back, 2, fold=1), at(back + timedelta(days=1), 2)]
    assert await fires(hourly, at(back, 0, 0), at(back, 5, 0)) == [
        at(back, 0), at(back, 1), at(back, 2, fold=0), at(back, 3), at(back, 4)
    ]  # fmt: skip

    # An interval is a count of seconds: the clock change does not move it.
    interval = ScheduleRow(
        workspace_id="-",
        flow_id="-",
        interval_s=3600,
        timezone="Europe/Berlin",
        created_at=at(back, 0, 0),
    )
    # 00:00 to 04:00 local time is 5 hours that day, so 6 fires with both ends.
    assert await fires(interval, at(back, 0, 0), at(back, 4, 0)) == [
        at(back, 0, 0) + timedelta(hours=k) for k in range(6)
    ]


# --- overlap ---------------------------------------------------------------------------------


async def test_fires_skipped_while_a_run_is_still_going_are_shown(
    client: httpx.AsyncClient, api_services: Services, workspace: WorkspaceKey, nap_flow: Flow
) -> None:
    created = await post_schedule(client, workspace, nap_flow, {"interval_s": 3600, "paused": True})
    assert created["overlap"] == "skip"
    handle = api_services.temporal.get_schedule_handle(created["id"])
    # A fire as the schedule's own would be, with its policy (POST .../trigger overlaps on
    # purpose, and Temporal does not track runs started that way).
    await handle.trigger(overlap=ScheduleOverlapPolicy.SKIP)
    detail = await _detail(client, workspace, created["id"])
    for _ in range(100):  # the first run must be going before fires can skip
        if detail["running_runs"]:
            break
        await asyncio.sleep(0.1)
        detail = await _detail(client, workspace, created["id"])
    [running] = detail["running_runs"]
    try:
        # Three hourly fire times, as if they had come while the run was going.
        created_at = datetime.fromisoformat(created["created_at"])
        window = (created_at - timedelta(hours=3.5), created_at - timedelta(hours=0.5))
        await handle.backfill(ScheduleBackfill(*window, overlap=ScheduleOverlapPolicy.SKIP))
        for _ in range(100):
            detail = await _detail(client, workspace, created["id"])
            if detail["fires_skipped"] == 3:
                break
            await asyncio.sleep(0.1)
        assert detail["fires_skipped"] == 3, detail
        assert detail["runs_started"] == 1 and detail["running_runs"] == [running]
        assert detail["fires_missed"] == 0
    finally:
        await api_services.temporal.get_workflow_handle(running).terminate("test done")


async def test_the_overlap_policy_is_chosen_changed_and_checked(
    client: httpx.AsyncClient, api_services: Services, workspace: WorkspaceKey, nap_flow: Flow
) -> None:
    created = await post_schedule(
        client, workspace, nap_flow, {"interval_s": 3600, "overlap": "buffer_one"}
    )
    assert created["overlap"] == "buffer_one"
    handle = api_services.temporal.get_schedule_handle(created["id"])
    policy = (await handle.describe()).schedule.policy
    assert policy.overlap == ScheduleOverlapPolicy.BUFFER_ONE

    changed = await client.patch(
        f"/v1/schedules/{created['id']}", json={"overlap": "allow_all"}, headers=workspace.headers
    )
    assert changed.status_code == 200 and changed.json()["overlap"] == "allow_all"
    policy = (await handle.describe()).schedule.policy
    assert policy.overlap == ScheduleOverlapPolicy.ALLOW_ALL
    assert (await _detail(client, workspace, created["id"]))["overlap"] == "allow_all"

    for body in ({"interval_s": 3600, "overlap": "sometimes"}, {"cron": "* * * * *", "overlap": 1}):
        refused = await client.post(
            f"/v1/flows/{nap_flow.id}/schedules", json=body, headers=workspace.headers
        )
        error = assert_error(refused, 422)
        assert [d["pointer"] for d in error["details"]] == ["/overlap"], error
        assert "skip" in error["details"][0]["message"]
    bad_change = await client.patch(
        f"/v1/schedules/{created['id']}", json={"overlap": "never"}, headers=workspace.headers
    )
    assert [d["pointer"] for d in assert_error(bad_change, 422)["details"]] == ["/overlap"]
