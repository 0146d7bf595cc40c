"""/v1 schedules: cron or interval triggers of a flow, run by Temporal Schedules.

Each schedule row has a Temporal Schedule with the same id (``ui_api.schedules.service``). A
change goes to Temporal first and is committed to the row after, with no database connection held
while Temporal answers; if Temporal refuses or cannot be reached, the request fails and the row is
left as it was.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from fastapi import APIRouter, status
from sqlmodel import Session
from temporalio.client import ScheduleActionExecutionStartWorkflow, ScheduleOverlapPolicy
from temporalio.service import RPCError, RPCStatusCode

from step_sdk.errors import Problem
from ui_api.auth.dependencies import Caller, CallerDep
from ui_api.columns import new_id, utcnow
from ui_api.deps import ServicesDep, SessionDep
from ui_api.errors import ApiError, invalid, not_found
from ui_api.flows.models import Flow
from ui_api.json_body import StrictJsonRoute
from ui_api.schedules import rules as schedule_rules
from ui_api.schedules import service as schedule_sync
from ui_api.schedules.models import Schedule
from ui_api.schedules.schemas import (
    NEXT_FIRES,
    ScheduleChange,
    ScheduleCreate,
    ScheduleDetail,
    ScheduledRun,
    ScheduleOut,
    Triggered,
)
from ui_api.temporal_rpc import RPC_TIMEOUT

router = APIRouter(prefix="/v1", tags=["schedules"], route_class=StrictJsonRoute)


def _out(row: Schedule, flow: Flow) -> ScheduleOut:
    return ScheduleOut(
        id=row.id,
        flow_id=row.flow_id,
        cron=row.cron,
        interval_s=row.interval_s,
        timezone=row.timezone,
        payload=row.payload,
        note=row.note,
        paused=row.paused,
        overlap=row.overlap,
        active=not schedule_sync.is_paused(row, flow),
        run_id_prefix=schedule_sync.run_id_prefix(row.id),
        created_at=row.created_at,
    )


def _flow(session: Session, caller: Caller, flow_id: str) -> Flow:
    flow = session.get(Flow, flow_id)
    if flow is None or flow.workspace_id != caller.workspace_id:
        raise not_found("flow", flow_id)
    return flow


def _check(row: Schedule) -> None:
    problems = schedule_rules.spec_problems(row.cron, row.interval_s, row.timezone)
    if row.payload is not None and (reason := schedule_rules.payload_problem(row.payload)):
        problems.append(Problem("/payload", reason))
    for name, text in (("cron", row.cron), ("note", row.note)):
        if text is not None and (reason := schedule_rules.text_problem(text)):
            problems.append(Problem(f"/{name}", reason))
    if problems:
        raise invalid("the schedule is not valid", problems)


@router.post(
    "/flows/{flow_id}/schedules",
    response_model=ScheduleOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "the flow uses a step that is not pushed"}},
)
async def create_schedule(
    flow_id: str, body: ScheduleCreate, caller: CallerDep, services: ServicesDep
) -> ScheduleOut:
    """Schedule runs of the flow's latest version; each run gets `payload` as its trigger.

    A disabled flow's schedules are created paused in Temporal and fire once it is enabled.
    """
    # Fixed here, so the planned schedule and the stored row agree (intervals count from
    # created_at).
    schedule_id, created_at = new_id("sch"), utcnow()

    def add(session: Session) -> tuple[ScheduleOut, schedule_sync.SchedulePlan]:
        flow = _flow(session, caller, flow_id)
        row = Schedule(
            id=schedule_id,
            workspace_id=caller.workspace_id,
            flow_id=flow.id,
            created_at=created_at,
            **body.model_dump(),
        )
        _check(row)
        session.add(row)
        session.flush()  # database refusals come before Temporal has anything to undo
        return _out(row, flow), schedule_sync.plan_schedule(services, session, flow, row)

    async with schedule_sync.flow_lock(services, flow_id):  # see change_flow
        _, plan = await services.session(add)  # rolled back: Temporal goes first
        with schedule_sync.temporal_errors():
            await schedule_sync.create_schedule(services, plan)
        try:
            out, _ = await services.transaction(add)
        except BaseException:
            with contextlib.suppress(Exception):
                await schedule_sync.delete_temporal_schedule(services, schedule_id)
            raise
    return out


@router.get("/flows/{flow_id}/schedules", response_model=list[ScheduleOut])
def list_schedules(flow_id: str, caller: CallerDep, session: SessionDep) -> list[ScheduleOut]:
    """The flow's schedules, oldest first (fire times: get one schedule)."""
    flow = _flow(session, caller, flow_id)
    return [_out(row, flow) for row in schedule_sync.flow_schedules(session, flow)]


@router.get("/schedules/{schedule_id}", response_model=ScheduleDetail)
async def get_schedule(
    schedule_id: str, caller: CallerDep, services: ServicesDep
) -> ScheduleDetail:
    """One schedule with its next fire times and recent runs, as Temporal reports them."""

    def read(session: Session) -> ScheduleOut:
        return _out(*schedule_sync.load_row(session, caller.workspace_id, schedule_id))

    # Under the flow's lock: a schedule being changed or deleted is read after that, never in
    # between (Temporal answers a describe of a schedule mid-deletion only by timing out).
    flow_id = await schedule_sync.flow_of_schedule(services, caller.workspace_id, schedule_id)
    async with schedule_sync.flow_lock(services, flow_id):
        out = await services.transaction(read)
        handle = services.temporal.get_schedule_handle(schedule_id)
        try:
            described = await handle.describe(rpc_timeout=RPC_TIMEOUT)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise ApiError(503, f"Temporal is unavailable: {exc.message}") from None
            # Temporal lost it (a wiped dev server): put it back
            await schedule_sync.restore_schedule(
                services, caller.workspace_id, schedule_id, locked=True
            )
            with schedule_sync.temporal_errors():
                described = await handle.describe(rpc_timeout=RPC_TIMEOUT)
    info = described.info
    runs = [
        ScheduledRun(
            run_id=action.action.workflow_id,
            scheduled_at=action.scheduled_at,
            started_at=action.started_at,
        )
        for action in info.recent_actions
        if isinstance(action.action, ScheduleActionExecutionStartWorkflow)
    ]
    return ScheduleDetail(
        **out.model_dump(),
        next_fire_times=[]
        if described.schedule.state.paused
        else info.next_action_times[:NEXT_FIRES],
        recent_runs=runs,
        runs_started=info.num_actions,
        running_runs=[
            running.workflow_id
            for running in info.running_actions
            if isinstance(running, ScheduleActionExecutionStartWorkflow)
        ],
        fires_skipped=info.num_actions_skipped_overlap,
        fires_missed=info.num_actions_missed_catchup_window,
    )


@router.patch("/schedules/{schedule_id}", response_model=ScheduleOut)
async def change_schedule(
    schedule_id: str, body: ScheduleChange, caller: CallerDep, services: ServicesDep
) -> ScheduleOut:
    """Change timing, time zone, payload, note or overlap policy; the schedule also moves to
    the flow's latest version."""
    given = body.model_fields_set
    if "cron" in given and "interval_s" in given and body.cron is not None and body.interval_s:
        raise invalid(
            "give exactly one of 'cron' and 'interval_s'",
            [Problem("/cron", "give exactly one of 'cron' and 'interval_s'")],
        )

    def change(session: Session, row: Schedule, flow: Flow) -> ScheduleOut:
        if body.cron is not None:
            row.cron, row.interval_s = body.cron, None
        elif body.interval_s is not None:
            row.cron, row.interval_s = None, body.interval_s
        if body.timezone is not None:
            row.timezone = body.timezone
        if "payload" in given:
            row.payload = body.payload
        if body.note is not None:
            row.note = body.note
        if body.overlap is not None:
            row.overlap = body.overlap
        _check(row)
        session.add(row)
        return _out(row, flow)

    return await schedule_sync.change_row(
        services, caller.workspace_id, schedule_id, change, schedule_sync.push_schedule
    )


@router.delete("/schedules/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_schedule(schedule_id: str, caller: CallerDep, services: ServicesDep) -> None:
    """Delete the schedule; runs it started are not affected."""

    def delete(session: Session) -> None:
        row = session.get(Schedule, schedule_id)
        if row is not None:
            session.delete(row)

    flow_id = await schedule_sync.flow_of_schedule(services, caller.workspace_id, schedule_id)
    async with schedule_sync.flow_lock(services, flow_id):  # see change_flow
        with schedule_sync.temporal_errors():
            await schedule_sync.delete_temporal_schedule(services, schedule_id)
        await services.transaction(delete)


def _set_paused(paused: bool) -> Callable[[Session, Schedule, Flow], ScheduleOut]:
    def change(session: Session, row: Schedule, flow: Flow) -> ScheduleOut:
        if not paused and not flow.enabled:
            raise ApiError(409, f"flow {flow.id!r} is disabled; enable it first, then resume")
        row.paused = paused
        session.add(row)
        return _out(row, flow)

    return change


@router.post("/schedules/{schedule_id}/pause", response_model=ScheduleOut)
async def pause_schedule(schedule_id: str, caller: CallerDep, services: ServicesDep) -> ScheduleOut:
    """Stop firing until resumed (pausing a paused schedule is fine)."""
    return await schedule_sync.change_row(
        services, caller.workspace_id, schedule_id, _set_paused(True), schedule_sync.apply_pause
    )


@router.post(
    "/schedules/{schedule_id}/resume",
    response_model=ScheduleOut,
    responses={409: {"description": "the flow is disabled"}},
)
async def resume_schedule(
    schedule_id: str, caller: CallerDep, services: ServicesDep
) -> ScheduleOut:
    """Fire again from the next due time (missed times are not made up)."""
    return await schedule_sync.change_row(
        services, caller.workspace_id, schedule_id, _set_paused(False), schedule_sync.apply_pause
    )


@router.post(
    "/schedules/{schedule_id}/trigger",
    response_model=Triggered,
    status_code=status.HTTP_202_ACCEPTED,
    responses={409: {"description": "the flow is disabled"}},
)
async def trigger_schedule(schedule_id: str, caller: CallerDep, services: ServicesDep) -> Triggered:
    """Start a run now with the schedule's payload, even while it is paused (not while the
    flow is disabled). The run appears in `recent_runs` and the flow's runs."""

    def check(session: Session) -> None:
        _, flow = schedule_sync.load_row(session, caller.workspace_id, schedule_id)
        if not flow.enabled:
            raise ApiError(409, f"flow {flow.id!r} is disabled; enable it to run it")

    await services.transaction(check)
    handle = services.temporal.get_schedule_handle(schedule_id)
    # Run now means now, even when an earlier run of this schedule is still going.
    allow_all = ScheduleOverlapPolicy.ALLOW_ALL
    with schedule_sync.temporal_errors():
        try:
            await handle.trigger(overlap=allow_all, rpc_timeout=RPC_TIMEOUT)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            # Temporal lost it: put it back (unless it is being deleted), then fire
            await schedule_sync.restore_schedule(services, caller.workspace_id, schedule_id)
            await handle.trigger(overlap=allow_all, rpc_timeout=RPC_TIMEOUT)
    return Triggered(
        schedule_id=schedule_id, run_id_prefix=schedule_sync.run_id_prefix(schedule_id)
    )
