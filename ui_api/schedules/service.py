"""Keeps Temporal Schedules in step with the ``schedule`` rows and their flows.

A row's Temporal Schedule has the row's id. Its action starts ``FlowRun`` with the flow's latest
version frozen into the input (steps, digests, manifests) and the row's payload as the trigger,
so every fire runs exactly what the flow was when the schedule was last synced. Saving a new flow
version, enabling or disabling the flow, and editing the row all re-sync.

A schedule is paused in Temporal iff its row is paused or its flow is disabled.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar, cast

from sqlmodel import Session, select
from temporalio.client import (
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
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
from ui_api.errors import ApiError, invalid, not_found
from ui_api.flows import service as flow_store
from ui_api.flows.models import Flow, FlowVersion
from ui_api.runs import search_attributes
from ui_api.runs.launcher import flow_run_input, run_timeout
from ui_api.schedules import rules as schedule_rules
from ui_api.schedules.models import Schedule as ScheduleRow
from ui_api.services import Services
from ui_api.temporal_rpc import RPC_TIMEOUT
from workflows.types import FLOW_RUN

T = TypeVar("T")

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
    run_input = flow_run_input(session, settings, flow, version, row.payload, services.frozen_steps)
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


@dataclass(frozen=True)
class SchedulePlan:
    """One Temporal Schedule as the database says it must be: built in a transaction, pushed
    to Temporal after it (no connection is held while Temporal answers)."""

    schedule_id: str
    schedule: Schedule
    attributes: TypedSearchAttributes

    @property
    def paused(self) -> bool:
        return self.schedule.state.paused

    @property
    def note(self) -> str:
        return self.schedule.state.note or ""


def plan_schedule(
    services: Services, session: Session, flow: Flow, row: ScheduleRow
) -> SchedulePlan:
    """The plan for one row (its flow's latest version frozen into the action)."""
    return SchedulePlan(
        row.id, build_schedule(services, session, flow, row), schedule_attributes(flow)
    )


def plan_flow_schedules(services: Services, session: Session, flow: Flow) -> list[SchedulePlan]:
    """Plans for every schedule of the flow, oldest first."""
    return [plan_schedule(services, session, flow, row) for row in flow_schedules(session, flow)]


def flow_schedules(session: Session, flow: Flow) -> list[ScheduleRow]:
    return list(
        session.exec(
            select(ScheduleRow)
            .where(ScheduleRow.flow_id == flow.id, ScheduleRow.workspace_id == flow.workspace_id)
            .order_by(ScheduleRow.created_at, ScheduleRow.id)  # type: ignore[arg-type]
        ).all()
    )


async def create_schedule(services: Services, plan: SchedulePlan) -> ScheduleHandle:
    """Create the Temporal Schedule of a plan (RPCError from Temporal propagates)."""
    return await services.temporal.create_schedule(
        plan.schedule_id,
        plan.schedule,
        search_attributes=plan.attributes,
        rpc_timeout=RPC_TIMEOUT,
    )


async def push_schedule(services: Services, plan: SchedulePlan) -> None:
    """Make the Temporal Schedule match the plan; recreate it if Temporal lost it."""

    def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=plan.schedule)

    handle = services.temporal.get_schedule_handle(plan.schedule_id)
    try:
        await handle.update(replace, rpc_timeout=RPC_TIMEOUT)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        try:
            await create_schedule(services, plan)
            return
        except ScheduleAlreadyRunningError:  # made meanwhile (another API process): update it
            await handle.update(replace, rpc_timeout=RPC_TIMEOUT)
    await apply_pause(services, plan)


async def apply_pause(services: Services, plan: SchedulePlan) -> None:
    """Pause or unpause the Temporal Schedule as the plan says (Temporal's pause and unpause
    are idempotent); recreate it if Temporal lost it."""
    handle = services.temporal.get_schedule_handle(plan.schedule_id)
    try:
        if plan.paused:
            await handle.pause(note=plan.note, rpc_timeout=RPC_TIMEOUT)
        else:
            await handle.unpause(note=plan.note, rpc_timeout=RPC_TIMEOUT)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        await push_schedule(services, plan)


async def push_all(services: Services, plans: list[SchedulePlan]) -> None:
    """Push every plan. Raises ApiError (503) when Temporal cannot take a change."""
    with temporal_errors():
        for plan in plans:
            await push_schedule(services, plan)


async def delete_temporal_schedule(services: Services, schedule_id: str) -> None:
    """Delete one Temporal Schedule; one that is already gone is fine."""
    try:
        await services.temporal.get_schedule_handle(schedule_id).delete(rpc_timeout=RPC_TIMEOUT)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise


async def delete_all(services: Services, schedule_ids: list[str]) -> None:
    """Delete these Temporal Schedules. Raises ApiError (503) when Temporal cannot be reached."""
    with temporal_errors():
        for schedule_id in schedule_ids:
            await delete_temporal_schedule(services, schedule_id)


async def change_flow(
    services: Services, workspace_id: str, flow_id: str, change: Callable[[Session, Flow], T]
) -> T:
    """Apply ``change`` to a flow and move its Temporal Schedules along, Temporal first.

    ``change(session, flow)`` makes the database change and returns the answer (it runs on a
    worker thread, possibly twice, so it must not have other side effects). Without schedules it
    runs once and commits. With schedules it first runs in a transaction that is rolled back,
    to plan the schedules as they must become; the plans go to Temporal with no connection
    held; then ``change`` runs again and commits. Temporal refusing or unreachable (ApiError
    4xx/503) thus leaves the database untouched; the database refusing afterwards puts the
    schedules back as the database says, best effort, and re-raises. The flow's schedule lock
    is held throughout, so changes made through this API process never interleave.
    """

    def first(session: Session) -> tuple[T | None, list[SchedulePlan]]:
        flow = flow_store.get_flow(session, workspace_id, flow_id)
        answer = change(session, flow)
        session.flush()
        plans = plan_flow_schedules(services, session, flow)
        if plans:
            return None, plans  # rolled back when the session closes
        session.commit()
        return answer, []

    async with flow_lock(services, flow_id):
        return await _apply_flow_change(services, workspace_id, flow_id, change, first)


async def _apply_flow_change(
    services: Services,
    workspace_id: str,
    flow_id: str,
    change: Callable[[Session, Flow], T],
    first: Callable[[Session], tuple[T | None, list[SchedulePlan]]],
) -> T:
    answer, plans = await services.session(first)
    if not plans:
        return cast(T, answer)
    await push_all(services, plans)
    try:
        return await services.transaction(
            lambda session: change(session, flow_store.get_flow(session, workspace_id, flow_id))
        )
    except BaseException:
        with contextlib.suppress(Exception):
            current = await services.transaction(
                lambda session: plan_flow_schedules(
                    services, session, flow_store.get_flow(session, workspace_id, flow_id)
                )
            )
            await push_all(services, current)
        raise


def load_row(session: Session, workspace_id: str, schedule_id: str) -> tuple[ScheduleRow, Flow]:
    """A schedule row of this workspace and its flow (404 for any other)."""
    row = session.get(ScheduleRow, schedule_id)
    if row is None or row.workspace_id != workspace_id:
        raise not_found("schedule", schedule_id)
    flow = session.get(Flow, row.flow_id)
    assert flow is not None  # foreign key
    return row, flow


def plan_row(
    services: Services, session: Session, workspace_id: str, schedule_id: str
) -> SchedulePlan:
    """The plan of one schedule of this workspace (404 for any other)."""
    row, flow = load_row(session, workspace_id, schedule_id)
    return plan_schedule(services, session, flow, row)


async def change_row(
    services: Services,
    workspace_id: str,
    schedule_id: str,
    change: Callable[[Session, ScheduleRow, Flow], T],
    push: Callable[[Services, SchedulePlan], Awaitable[None]],
) -> T:
    """Apply ``change`` to a schedule row and ``push`` the result to Temporal, Temporal first
    (as :func:`change_flow` does: planned in a rolled-back transaction, pushed with no
    connection held, then committed; a database refusal afterwards puts Temporal back)."""

    def plan(session: Session) -> SchedulePlan:
        row, flow = load_row(session, workspace_id, schedule_id)
        change(session, row, flow)
        session.flush()
        return plan_schedule(services, session, flow, row)  # rolled back when the session closes

    async with flow_lock(services, await flow_of_schedule(services, workspace_id, schedule_id)):
        with temporal_errors():
            await push(services, await services.session(plan))
        return await _commit_row_change(services, workspace_id, schedule_id, change)


async def _commit_row_change(
    services: Services,
    workspace_id: str,
    schedule_id: str,
    change: Callable[[Session, ScheduleRow, Flow], T],
) -> T:
    try:
        return await services.transaction(
            lambda session: change(session, *load_row(session, workspace_id, schedule_id))
        )
    except BaseException:
        with contextlib.suppress(Exception):
            current = await services.transaction(
                lambda session: plan_row(services, session, workspace_id, schedule_id)
            )
            await push_schedule(services, current)
        raise


def flow_lock(services: Services, flow_id: str) -> AbstractAsyncContextManager[None]:
    """The lock every change that moves this flow's Temporal Schedules holds, from planning to
    commit (503 if it cannot be had in time, see ``KeyedLocks``)."""
    return services.schedule_locks.hold(f"flow:{flow_id}")


async def flow_of_schedule(services: Services, workspace_id: str, schedule_id: str) -> str:
    """The id of the flow a schedule of this workspace belongs to (404 for any other)."""
    return await services.transaction(
        lambda session: load_row(session, workspace_id, schedule_id)[1].id
    )


async def restore_schedule(
    services: Services, workspace_id: str, schedule_id: str, *, locked: bool = False
) -> None:
    """Put back a Temporal Schedule that Temporal lost (a wiped dev server), under its flow's
    lock (``locked``: the caller holds it) and only if its row still exists then, so a schedule
    being deleted is never revived."""

    async def restore() -> None:
        plan = await services.transaction(
            lambda session: plan_row(services, session, workspace_id, schedule_id)
        )
        with temporal_errors():
            await push_schedule(services, plan)

    if locked:
        await restore()
        return
    async with flow_lock(services, await flow_of_schedule(services, workspace_id, schedule_id)):
        await restore()
