"""Keeps Temporal Schedules in step with the ``schedule`` rows and their flows.

A row's Temporal Schedule has the row's id. Its action starts ``FlowRun`` with the flow's latest
version frozen into the input (steps, digests, manifests) and the row's payload as the trigger,
so every fire runs exactly what the flow was when the schedule was last synced. Saving a new flow
version, enabling or disabling the flow, and editing the row all re-sync.

A schedule is paused in Temporal iff its row is paused or its flow is disabled.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select
from temporalio.client import (
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleHandle,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from step_sdk.errors import Problem
from ui_api.errors import ApiError, invalid
from ui_api.flows.models import Flow, FlowVersion
from ui_api.runs import search_attributes
from ui_api.runs.launcher import flow_run_input, run_timeout
from ui_api.schedules import rules as schedule_rules
from ui_api.schedules.models import Schedule as ScheduleRow
from ui_api.services import Services
from workflows.types import FLOW_RUN

# Fires missed while Temporal was down for longer than this are dropped, not replayed in a burst.
CATCHUP_WINDOW = timedelta(minutes=5)


@contextmanager
def temporal_errors() -> Iterator[None]:
    """Temporal's refusals as 4xx answers, its absence as 503 (the request's
    database changes then roll back)."""
    try:
        yield
    except RPCError as exc:
        if exc.status == RPCStatusCode.INVALID_ARGUMENT:
            pointer = "/timezone" if "zone" in exc.message.lower() else "/cron"
            raise invalid(
                "Temporal refused the schedule",
                [Problem(pointer, f"Temporal refused the schedule: {exc.message}")],
            ) from None
        raise ApiError(503, f"Temporal could not take the change: {exc.message}") from None


def run_id_prefix(schedule_id: str) -> str:
    """The workflow id of a fired run starts with this; Temporal appends the fire time."""
    return f"run_{schedule_id}"


def is_paused(row: ScheduleRow, flow: Flow) -> bool:
    """Whether Temporal should hold the schedule: paused by the user, or the flow disabled."""
    return row.paused or not flow.enabled


def pause_reason(row: ScheduleRow, flow: Flow) -> str:
    """Temporal's note on the schedule's state (the row's own note is the user's)."""
    if not flow.enabled:
        return "paused by Stepwell: the flow is disabled"
    if row.paused:
        return "paused by Stepwell: the schedule is paused"
    return "active"


def latest_version(session: Session, flow: Flow) -> FlowVersion:
    version = session.exec(
        select(FlowVersion).where(
            FlowVersion.flow_id == flow.id, FlowVersion.version == flow.latest_version
        )
    ).first()
    if version is None:  # pragma: no cover - a flow always has its latest version
        raise ApiError(409, f"flow {flow.id!r} has no version {flow.latest_version}")
    return version


def schedule_spec(row: ScheduleRow) -> ScheduleSpec:
    """When the row fires: its cron expression read as classic cron, in its time zone, or its
    interval counted from when the row was created."""
    if row.cron is not None:
        return ScheduleSpec(
            cron_expressions=schedule_rules.classic_cron(row.cron), time_zone_name=row.timezone
        )
    assert row.interval_s is not None
    offset = schedule_rules.interval_offset_s(row.interval_s, _aware(row.created_at))
    return ScheduleSpec(
        intervals=[
            ScheduleIntervalSpec(
                every=timedelta(seconds=row.interval_s), offset=timedelta(seconds=offset)
            )
        ],
        time_zone_name=row.timezone,
    )


def _aware(moment: datetime) -> datetime:
    # A database without time zones hands back UTC as naive datetimes.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def build_schedule(services: Services, session: Session, flow: Flow, row: ScheduleRow) -> Schedule:
    """The whole Temporal Schedule for a row: spec, action on the latest version, state."""
    settings = services.settings
    version = latest_version(session, flow)
    run_input = flow_run_input(session, settings, flow, version, row.payload)
    action = ScheduleActionStartWorkflow(
        FLOW_RUN,
        run_input,
        id=run_id_prefix(row.id),
        task_queue=settings.task_queue,
        execution_timeout=run_timeout(settings, run_input),
        typed_search_attributes=search_attributes.for_run(
            flow.workspace_id, flow.id, version.version, "schedule"
        ),
    )
    return Schedule(
        action=action,
        spec=schedule_spec(row),
        # A slow run is not stacked up behind itself; "trigger now" overrides this per call.
        policy=SchedulePolicy(overlap=overlap_policy(row), catchup_window=CATCHUP_WINDOW),
        state=ScheduleState(paused=is_paused(row, flow), note=pause_reason(row, flow)),
    )


def overlap_policy(row: ScheduleRow) -> ScheduleOverlapPolicy:
    """Temporal's policy for the row's overlap name (rows from before it existed say "skip")."""
    return schedule_rules.OVERLAP.get(row.overlap, schedule_rules.OVERLAP["skip"])


def schedule_attributes(flow: Flow) -> TypedSearchAttributes:
    """Attributes on the schedule itself, so Temporal's schedule list can be filtered too."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(search_attributes.WORKSPACE, flow.workspace_id),
            SearchAttributePair(search_attributes.FLOW, flow.id),
        ]
    )


async def create_schedule(
    services: Services, session: Session, flow: Flow, row: ScheduleRow
) -> ScheduleHandle:
    """Create the row's Temporal Schedule (RPCError from Temporal propagates)."""
    return await services.temporal.create_schedule(
        row.id,
        build_schedule(services, session, flow, row),
        search_attributes=schedule_attributes(flow),
    )


async def push_schedule(services: Services, session: Session, flow: Flow, row: ScheduleRow) -> None:
    """Make the Temporal Schedule match the row and flow; recreate it if Temporal lost it."""
    schedule = build_schedule(services, session, flow, row)

    def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=schedule)

    handle = services.temporal.get_schedule_handle(row.id)
    try:
        await handle.update(replace)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        await services.temporal.create_schedule(
            row.id, schedule, search_attributes=schedule_attributes(flow)
        )
        return
    await apply_pause(services, session, flow, row)


async def apply_pause(services: Services, session: Session, flow: Flow, row: ScheduleRow) -> None:
    """Pause or unpause the Temporal Schedule as the row and flow say (Temporal's pause and
    unpause are idempotent); recreate it if Temporal lost it."""
    handle = services.temporal.get_schedule_handle(row.id)
    try:
        if is_paused(row, flow):
            await handle.pause(note=pause_reason(row, flow))
        else:
            await handle.unpause(note=pause_reason(row, flow))
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        await push_schedule(services, session, flow, row)


def flow_schedules(session: Session, flow: Flow) -> list[ScheduleRow]:
    return list(
        session.exec(
            select(ScheduleRow)
            .where(ScheduleRow.flow_id == flow.id, ScheduleRow.workspace_id == flow.workspace_id)
            .order_by(ScheduleRow.created_at, ScheduleRow.id)  # type: ignore[arg-type]
        ).all()
    )


async def sync_flow_schedules(services: Services, session: Session, flow: Flow) -> None:
    """Re-point every schedule of the flow at its latest version; pause iff row paused or
    flow disabled. Call after saving a version and after enable/disable.

    Raises ApiError (503) when Temporal cannot take the change, so the caller's request fails
    and its database changes roll back.
    """
    with temporal_errors():
        for row in flow_schedules(session, flow):
            await push_schedule(services, session, flow, row)


async def delete_temporal_schedule(services: Services, schedule_id: str) -> None:
    """Delete one Temporal Schedule; one that is already gone is fine."""
    try:
        await services.temporal.get_schedule_handle(schedule_id).delete()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise


async def delete_flow_schedules(services: Services, session: Session, flow: Flow) -> None:
    """Delete the flow's Temporal Schedules and their rows (flushed, so the flow row can go
    next in the same transaction). Raises ApiError (503) when Temporal cannot be reached."""
    with temporal_errors():
        for row in flow_schedules(session, flow):
            await delete_temporal_schedule(services, row.id)
            session.delete(row)
    session.flush()
