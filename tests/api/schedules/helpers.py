"""Flows, schedule bodies and Temporal look-ups the schedule tests share."""

from __future__ import annotations

from typing import Any

import httpx
from sqlmodel import select
from temporalio.client import ScheduleActionStartWorkflow, ScheduleDescription

from tests.api.helpers import WorkspaceKey
from ui_api.db import session_scope
from ui_api.flows.models import Flow
from ui_api.schedules.models import Schedule
from ui_api.services import Services
from workflows.types import FlowRunInput

SLUG_FLOW = {
    "name": "slug",
    "steps": [{"id": "clean", "uses": "text.slugify@1.0.0", "with": {"text": "{{ trigger.t }}"}}],
    "output": {"slug": "{{ steps.clean.output.slug }}"},
}


WEEKDAYS_9 = {"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin", "payload": {"t": "Good Morning"}}


async def describe_schedule(services: Services, schedule_id: str) -> ScheduleDescription:
    return await services.temporal.get_schedule_handle(schedule_id).describe()


async def action_input(services: Services, described: ScheduleDescription) -> FlowRunInput:
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    [decoded] = await services.temporal.data_converter.decode(
        list(action.args),
        [FlowRunInput],
    )
    assert isinstance(decoded, FlowRunInput)
    return decoded


def action_attributes(described: ScheduleDescription) -> dict[str, Any]:
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    return {pair.key.name: pair.value for pair in action.typed_search_attributes}


def set_flow(services: Services, flow: Flow, **changes: Any) -> Flow:
    with session_scope(services.engine) as session:
        row = session.get(Flow, flow.id)
        assert row is not None
        for name, value in changes.items():
            setattr(row, name, value)
        session.add(row)
    return row


async def post_schedule(
    client: httpx.AsyncClient, workspace: WorkspaceKey, flow: Flow, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/flows/{flow.id}/schedules", json=body, headers=workspace.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def count_rows(services: Services, flow: Flow) -> int:
    with session_scope(services.engine) as session:
        return len(session.exec(select(Schedule).where(Schedule.flow_id == flow.id)).all())
