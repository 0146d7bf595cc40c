"""``/v1/flows``: save flows as immutable versions, validate, list, enable, disable, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status
from sqlmodel import Session

from ui_api.auth.dependencies import CallerDep
from ui_api.cursors import decode_position, encode_position
from ui_api.deps import ServicesDep, SessionDep
from ui_api.errors import ErrorResponse
from ui_api.flows import service as flow_store
from ui_api.flows.models import Flow, FlowVersion
from ui_api.flows.schemas import (
    DefinitionBody,
    FlowOut,
    FlowPage,
    FlowSummary,
    ProblemOut,
    UpdateBody,
    ValidationResult,
    VersionOut,
    VersionPage,
    VersionSummary,
)
from ui_api.json_body import StrictJsonRoute
from ui_api.schedules.service import change_flow, delete_all, flow_lock, flow_schedules

router = APIRouter(prefix="/v1", tags=["flows"], route_class=StrictJsonRoute)

Responses = dict[int | str, dict[str, Any]]

_NOT_FOUND: Responses = {
    404: {"model": ErrorResponse, "description": "no such flow in this workspace"}
}
_CONFLICT: Responses = {
    409: {"model": ErrorResponse, "description": "the name is taken by another flow"}
}
_INVALID: Responses = {
    422: {"model": ErrorResponse, "description": "the definition has problems (details)"}
}

Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page")]


def _summary(flow: Flow, version: FlowVersion) -> FlowSummary:
    return FlowSummary(
        id=flow.id,
        name=flow.name,
        description=str(version.definition.get("description", "")),
        enabled=flow.enabled,
        latest_version=flow.latest_version,
        created_at=flow.created_at,
        updated_at=flow.updated_at,
    )


def _flow_out(flow: Flow, version: FlowVersion) -> FlowOut:
    return FlowOut(**_summary(flow, version).model_dump(), definition=version.definition)


def _version_summary(version: FlowVersion) -> VersionSummary:
    return VersionSummary(
        version=version.version,
        name=str(version.definition.get("name", "")),
        created_at=version.created_at,
    )


@router.post(
    "/flows",
    response_model=FlowOut,
    status_code=status.HTTP_201_CREATED,
    responses={**_CONFLICT, **_INVALID},
)
def create_flow(
    body: DefinitionBody, caller: CallerDep, session: SessionDep, services: ServicesDep
) -> FlowOut:
    """Save a new flow; its name is the definition's `name` and its first version is 1.

    The definition is validated like `POST /v1/flows/validate` does; any problem answers 422
    with every problem in `details` (pointers start with `/definition`).
    """
    flow = flow_store.create_flow(
        session,
        caller.workspace_id,
        body.definition,
        max_run_timeout_s=services.settings.run_timeout_max_s,
    )
    return _flow_out(flow, flow_store.latest_version(session, flow))


@router.post("/flows/validate", response_model=ValidationResult)
def validate_flow(
    body: DefinitionBody, caller: CallerDep, session: SessionDep, services: ServicesDep
) -> ValidationResult:
    """Every static problem of a definition, checked against this workspace's steps; saves
    nothing.

    Checks: structure, unknown steps or versions, duplicate ids, cycles, references to steps that
    are not upstream, expressions that do not parse, literal inputs that break a step's input
    schema, per-step limits above the step's own, a run `timeout_s` above the server's maximum.
    """
    problems = flow_store.definition_problems(
        session,
        caller.workspace_id,
        body.definition,
        max_run_timeout_s=services.settings.run_timeout_max_s,
    )
    return ValidationResult(
        valid=not problems,
        problems=[ProblemOut(pointer=p.pointer, message=p.message) for p in problems],
    )


@router.get("/flows", response_model=FlowPage)
def list_flows(
    caller: CallerDep,
    session: SessionDep,
    enabled: Annotated[bool | None, Query(description="only enabled (or disabled) flows")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> FlowPage:
    """The workspace's flows in name order, a page at a time."""
    after = None if cursor is None else str(decode_position(cursor, "after", str))
    rows = flow_store.list_flows(
        session, caller.workspace_id, enabled=enabled, after=after, limit=limit + 1
    )
    page = rows[:limit]
    more = len(rows) > limit
    return FlowPage(
        items=[_summary(flow, version) for flow, version in page],
        next_cursor=encode_position({"after": page[-1][0].name}) if more else None,
    )


@router.get("/flows/{flow_id}", response_model=FlowOut, responses=_NOT_FOUND)
def get_flow(flow_id: str, caller: CallerDep, session: SessionDep) -> FlowOut:
    """A flow's metadata and its latest definition."""
    flow = flow_store.get_flow(session, caller.workspace_id, flow_id)
    return _flow_out(flow, flow_store.latest_version(session, flow))


@router.put(
    "/flows/{flow_id}",
    response_model=FlowOut,
    responses={**_NOT_FOUND, **_CONFLICT, **_INVALID},
)
async def update_flow(
    flow_id: str, body: UpdateBody, caller: CallerDep, services: ServicesDep
) -> FlowOut:
    """Save a new version of a flow (the previous versions stay readable, unchanged).

    Renaming (a new `name` in the definition) is allowed unless another flow has that name
    (409). The flow's schedules start the new version from now on; runs already started keep
    the version they started with.
    """

    def save(session: Session, flow: Flow) -> FlowOut:
        version = flow_store.add_version(
            session,
            flow,
            body.definition,
            body.base_version,
            max_run_timeout_s=services.settings.run_timeout_max_s,
        )
        return _flow_out(flow, version)

    return await change_flow(services, caller.workspace_id, flow_id, save)


@router.delete("/flows/{flow_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_NOT_FOUND)
async def delete_flow(flow_id: str, caller: CallerDep, services: ServicesDep) -> None:
    """Delete a flow with all its versions, its webhook and its schedules.

    Runs already started go on to the end and stay readable under `/v1/runs`.
    """

    def schedule_ids(session: Session) -> list[str]:
        flow = flow_store.get_flow(session, caller.workspace_id, flow_id)
        return [row.id for row in flow_schedules(session, flow)]

    def delete(session: Session) -> None:
        flow = flow_store.get_flow(session, caller.workspace_id, flow_id)
        flow_store.delete_flow_rows(session, flow)

    async with flow_lock(services, flow_id):  # see change_flow
        # Temporal first: if it cannot delete the schedules, nothing is deleted.
        await delete_all(services, await services.transaction(schedule_ids))
        await services.transaction(delete)


@router.get("/flows/{flow_id}/versions", response_model=VersionPage, responses=_NOT_FOUND)
def list_versions(
    flow_id: str,
    caller: CallerDep,
    session: SessionDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> VersionPage:
    """A flow's saved versions, newest first, a page at a time."""
    flow = flow_store.get_flow(session, caller.workspace_id, flow_id)
    before = None if cursor is None else int(decode_position(cursor, "before", int))
    rows = flow_store.list_versions(session, flow, before=before, limit=limit + 1)
    page = rows[:limit]
    more = len(rows) > limit
    return VersionPage(
        items=[_version_summary(version) for version in page],
        next_cursor=encode_position({"before": page[-1].version}) if more else None,
    )


@router.get(
    "/flows/{flow_id}/versions/{version}",
    response_model=VersionOut,
    responses={404: {"model": ErrorResponse, "description": "no such flow or version"}},
)
def get_version(
    flow_id: str,
    version: Annotated[int, Path(ge=1, le=2**31 - 1, description="the version number")],
    caller: CallerDep,
    session: SessionDep,
) -> VersionOut:
    """One saved version of a flow, exactly as it was saved."""
    flow = flow_store.get_flow(session, caller.workspace_id, flow_id)
    row = flow_store.get_version(session, flow, version)
    return VersionOut(
        **_version_summary(row).model_dump(), flow_id=flow.id, definition=row.definition
    )


async def _set_enabled(
    flow_id: str, enabled: bool, caller: CallerDep, services: ServicesDep
) -> FlowOut:
    def switch(session: Session, flow: Flow) -> FlowOut:
        flow_store.set_enabled(session, flow, enabled)
        return _flow_out(flow, flow_store.latest_version(session, flow))

    return await change_flow(services, caller.workspace_id, flow_id, switch)


@router.post("/flows/{flow_id}/enable", response_model=FlowOut, responses=_NOT_FOUND)
async def enable_flow(flow_id: str, caller: CallerDep, services: ServicesDep) -> FlowOut:
    """Let the flow start runs again (manual, webhook, schedule); resumes its schedules unless
    they were paused on their own."""
    return await _set_enabled(flow_id, True, caller, services)


@router.post("/flows/{flow_id}/disable", response_model=FlowOut, responses=_NOT_FOUND)
async def disable_flow(flow_id: str, caller: CallerDep, services: ServicesDep) -> FlowOut:
    """Refuse new runs of the flow from every trigger (409) and pause its schedules; runs
    already started go on."""
    return await _set_enabled(flow_id, False, caller, services)
