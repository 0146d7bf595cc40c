"""Planning a flow's schedules from the database and pushing the plans to Temporal, as the
flows API does (``plan_flow_schedules`` + ``push_all``, ``delete_all``)."""

from __future__ import annotations

import pytest
from sqlmodel import select
from temporalio.service import RPCError, RPCStatusCode

from tests.api.helpers import WorkspaceKey
from tests.api.schedules.helpers import (
    SLUG_FLOW,
    action_attributes,
    action_input,
    count_rows,
    describe_schedule,
    set_flow,
)
from ui_api.db import session_scope
from ui_api.flows.models import Flow, FlowVersion
from ui_api.schedules.models import Schedule
from ui_api.schedules.service import (
    create_schedule,
    delete_all,
    plan_flow_schedules,
    plan_schedule,
    push_all,
)
from ui_api.services import Services

pytestmark = pytest.mark.temporal


async def test_sync_follows_the_flow_version_and_pauses_with_the_flow(
    api_services: Services, workspace: WorkspaceKey, slug_flow: Flow
) -> None:
    with session_scope(api_services.engine) as session:
        row = Schedule(workspace_id=workspace.workspace_id, flow_id=slug_flow.id, interval_s=3600)
        session.add(row)
        session.flush()
        await create_schedule(api_services, plan_schedule(api_services, session, slug_flow, row))
    described = await describe_schedule(api_services, row.id)
    assert not described.schedule.state.paused
    assert (await action_input(api_services, described)).flow_version == 1
    assert action_attributes(described)["StepwellTrigger"] == "schedule"

    # a new version, and the flow disabled: the schedule follows both
    with session_scope(api_services.engine) as session:
        renamed = {**SLUG_FLOW, "output": {"slug2": "{{ steps.clean.output.slug }}"}}
        session.add(FlowVersion(flow_id=slug_flow.id, version=2, definition=renamed))
    flow = set_flow(api_services, slug_flow, latest_version=2, enabled=False)
    with session_scope(api_services.engine) as session:
        await push_all(api_services, plan_flow_schedules(api_services, session, flow))
    described = await describe_schedule(api_services, row.id)
    assert described.schedule.state.paused
    run_input = await action_input(api_services, described)
    assert run_input.flow_version == 2 and run_input.definition["output"] == renamed["output"]
    assert action_attributes(described)["StepwellFlowVersion"] == 2

    flow = set_flow(api_services, flow, enabled=True)
    with session_scope(api_services.engine) as session:
        await push_all(api_services, plan_flow_schedules(api_services, session, flow))
    assert not (await describe_schedule(api_services, row.id)).schedule.state.paused

    # a paused row stays paused when its flow is enabled
    with session_scope(api_services.engine) as session:
        stored = session.get(Schedule, row.id)
        assert stored is not None
        stored.paused = True
        session.add(stored)
        await push_all(api_services, plan_flow_schedules(api_services, session, flow))
    assert (await describe_schedule(api_services, row.id)).schedule.state.paused

    with session_scope(api_services.engine) as session:
        await delete_all(api_services, [row.id])
        session.delete(session.get(Schedule, row.id))
        for version in session.exec(select(FlowVersion).where(FlowVersion.flow_id == flow.id)):
            session.delete(version)
        session.flush()
        session.delete(session.get(Flow, flow.id))
    with pytest.raises(RPCError) as caught:
        await describe_schedule(api_services, row.id)
    assert caught.value.status == RPCStatusCode.NOT_FOUND
    assert await count_rows(api_services, flow) == 0


async def test_sync_recreates_a_schedule_that_temporal_lost(
    api_services: Services, workspace: WorkspaceKey, slug_flow: Flow
) -> None:
    with session_scope(api_services.engine) as session:
        row = Schedule(workspace_id=workspace.workspace_id, flow_id=slug_flow.id, cron="0 * * * *")
        session.add(row)
        session.flush()
        await create_schedule(api_services, plan_schedule(api_services, session, slug_flow, row))
    await api_services.temporal.get_schedule_handle(row.id).delete()
    with session_scope(api_services.engine) as session:
        await push_all(api_services, plan_flow_schedules(api_services, session, slug_flow))
    spec = (await describe_schedule(api_services, row.id)).schedule.spec
    assert spec.calendars or spec.cron_expressions  # the server may turn cron into calendars
