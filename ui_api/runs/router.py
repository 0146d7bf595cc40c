"""``/v1/runs``: start, list, read, stream, cancel and re-run runs (read from Temporal)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlmodel import Session
from temporalio.service import RPCError

from ui_api.artifacts.service import run_artifacts
from ui_api.auth.dependencies import CallerDep
from ui_api.deps import ServicesDep
from ui_api.errors import ApiError, ErrorResponse
from ui_api.flows import service as flow_store
from ui_api.flows.models import Flow, FlowVersion
from ui_api.json_body import StrictJsonRoute
from ui_api.runs.events import run_event_stream
from ui_api.runs.history import HistoryFacts
from ui_api.runs.listing import list_runs as list_workspace_runs
from ui_api.runs.reader import history_facts, read_run, run_links, visible_run
from ui_api.runs.schemas import (
    CancelRequested,
    RunDetail,
    RunPage,
    RunStarted,
    RunStatus,
    RunTrigger,
    StartRun,
)
from ui_api.runs.service import StartedRun, idempotent_run_id, prepare_run, start_flow_run
from ui_api.temporal_rpc import RPC_TIMEOUT
from workflows.types import FlowRunInput

router = APIRouter(prefix="/v1", tags=["runs"], route_class=StrictJsonRoute)

Responses = dict[int | str, dict[str, Any]]

_NO_RUN: Responses = {404: {"model": ErrorResponse, "description": "no such run in this workspace"}}
_STARTS: Responses = {
    200: {"model": RunStarted, "description": "the run this Idempotency-Key started before"},
    404: {"model": ErrorResponse, "description": "no such flow (or version) in this workspace"},
    409: {
        "model": ErrorResponse,
        "description": "the flow is disabled, uses a step that is not pushed, or the "
        "Idempotency-Key was used for another flow",
    },
    413: {"model": ErrorResponse, "description": "the input is too large"},
}

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="a client-chosen key: a retried request with the same key returns the run "
        "the first one started (200) instead of starting another",
    ),
]


def _started(services: ServicesDep, response: Response, started: StartedRun) -> RunStarted:
    run = started.run
    if not started.created:
        response.status_code = status.HTTP_200_OK
    return RunStarted(
        run_id=run.run_id,
        status=run.status,
        links=run_links(services.settings, run.namespace, run.run_id),
    )


@router.post(
    "/runs", response_model=RunStarted, status_code=status.HTTP_201_CREATED, responses=_STARTS
)
async def start_run(
    body: StartRun,
    caller: CallerDep,
    services: ServicesDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> RunStarted:
    """Start a run of a flow with `input` as its trigger payload (trigger kind `manual`).

    The run uses the latest version unless `version` names another. It runs asynchronously:
    follow it with `links.events` (Server-Sent Events) or poll `links.self`.
    """

    def prepare(session: Session) -> FlowRunInput:
        flow = flow_store.get_flow(session, caller.workspace_id, body.flow_id)
        version = flow_store.get_version(session, flow, body.version or flow.latest_version)
        return prepare_run(session, services, flow, version, body.input)

    run_input = await services.transaction(prepare)
    run_id = None if idempotency_key is None else idempotent_run_id(
        caller.workspace_id, "runs", idempotency_key
    )  # fmt: skip
    started = await start_flow_run(services, run_input, trigger_kind="manual", run_id=run_id)
    return _started(services, response, started)


@router.get("/runs", response_model=RunPage)
async def list_runs(
    caller: CallerDep,
    services: ServicesDep,
    flow_id: Annotated[str | None, Query(max_length=100, description="only this flow's")] = None,
    run_status: Annotated[
        RunStatus | None, Query(alias="status", description="only runs in this status")
    ] = None,
    trigger: Annotated[RunTrigger | None, Query(description="only runs started this way")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="page size")] = 50,
    cursor: Annotated[
        str | None, Query(max_length=4096, description="`next_cursor` of the previous page")
    ] = None,
) -> RunPage:
    """The workspace's runs, newest first, a page at a time.

    Listing reads Temporal's visibility store, which is eventually consistent: a run started
    a moment ago can take a second to appear (reading it by id works at once).
    """
    return await list_workspace_runs(
        services.temporal,
        services.settings,
        caller.workspace_id,
        flow_id=flow_id,
        status=run_status,
        trigger=trigger,
        limit=limit,
        cursor=cursor,
    )


@router.get("/runs/{run_id}", response_model=RunDetail, responses=_NO_RUN)
async def get_run(run_id: str, caller: CallerDep, services: ServicesDep) -> RunDetail:
    """A run: status, input, output, error, and per step its status, attempts, times,
    duration, output, error and logs; with a link to the run in the Temporal UI."""
    run = await visible_run(services.temporal, caller.workspace_id, run_id)
    detail = await read_run(services.settings, run)
    saved = await services.session(lambda s: run_artifacts(s, caller.workspace_id, run_id))
    for step_id, listed in saved.items():
        if step_id in detail.steps:
            detail.steps[step_id].artifacts = listed
    return detail


@router.get(
    "/runs/{run_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "text/event-stream of `progress`, `log` and a final `end` event, "
            "each with JSON data (described above)",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **_NO_RUN,
    },
)
async def run_events(
    run_id: str, request: Request, caller: CallerDep, services: ServicesDep
) -> StreamingResponse:
    """Follow a run live with Server-Sent Events until it ends.

    Events: `progress` `{"status", "steps": {id: {status, attempts, started_at, finished_at,
    duration_ms, items, error}}}` whenever it changes; `log` `{"step_id", "execution", "text",
    "replace"}` with new log text (live while a step runs, the rest of its log when it ends;
    `replace: true` means `text` is the step's whole log, to show instead of earlier text);
    `end` `{"status", "output", "error"}`, after which the stream closes (or `error`
    `{"message"}` if Temporal becomes unreachable: reconnect). Comment lines keep
    the connection open while nothing happens. A run that has already ended answers its final
    progress, logs and `end` at once.
    """
    run = await visible_run(services.temporal, caller.workspace_id, run_id)
    return StreamingResponse(
        run_event_stream(run, services.metrics, request.is_disconnected),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post(
    "/runs/{run_id}/cancel",
    response_model=CancelRequested,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        **_NO_RUN,
        409: {"model": ErrorResponse, "description": "the run has already ended"},
    },
)
async def cancel_run(run_id: str, caller: CallerDep, services: ServicesDep) -> CancelRequested:
    """Ask a running run to stop: running steps are cancelled (their containers killed) and
    the run ends as `cancelled`."""
    run = await visible_run(services.temporal, caller.workspace_id, run_id)
    if run.status != RunStatus.running:
        raise ApiError(409, f"run {run_id!r} has already ended ({run.status.value})")
    try:
        await run.handle.cancel(rpc_timeout=RPC_TIMEOUT)
    except RPCError:
        raise ApiError(409, f"run {run_id!r} ended before it could be cancelled") from None
    return CancelRequested(
        run_id=run_id,
        status=RunStatus.running,
        links=run_links(services.settings, run.namespace, run_id),
    )


@router.post(
    "/runs/{run_id}/rerun",
    response_model=RunStarted,
    status_code=status.HTTP_201_CREATED,
    responses={**_STARTS, 404: {"model": ErrorResponse, "description": "no such run"}},
)
async def rerun(
    run_id: str,
    caller: CallerDep,
    services: ServicesDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> RunStarted:
    """Start a new run of the same flow version with the same trigger input (trigger kind
    `rerun`). Refused (409) if the flow was deleted or is disabled."""
    run = await visible_run(services.temporal, caller.workspace_id, run_id)
    facts = await history_facts(run)

    def prepare(session: Session) -> FlowRunInput:
        flow, version = _flow_of(session, caller.workspace_id, run_id, facts)
        return prepare_run(session, services, flow, version, facts.trigger)

    run_input = await services.transaction(prepare)
    new_id = None if idempotency_key is None else idempotent_run_id(
        caller.workspace_id, f"rerun/{run_id}", idempotency_key
    )  # fmt: skip
    started = await start_flow_run(services, run_input, trigger_kind="rerun", run_id=new_id)
    return _started(services, response, started)


def _flow_of(
    session: Session, workspace_id: str, run_id: str, facts: HistoryFacts
) -> tuple[Flow, FlowVersion]:
    """The flow and version a run ran, if they still exist (409 otherwise)."""
    flow_id, number = facts.run_input.get("flow_id"), facts.run_input.get("flow_version")
    try:
        flow = flow_store.get_flow(session, workspace_id, str(flow_id or ""))
    except ApiError:
        raise ApiError(409, f"the flow of run {run_id!r} has been deleted") from None
    version = flow_store.find_version(session, flow, int(number or 0))
    if version is None:
        raise ApiError(409, f"flow {flow.id!r} no longer has version {number}")
    return flow, version
