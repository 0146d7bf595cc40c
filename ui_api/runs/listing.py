"""Listing a workspace's runs through Temporal's visibility store.

The query is built only from values that passed a strict pattern (ids) or an enum (status), so
no user text can change its meaning. Visibility is eventually consistent: a run started a moment
ago may take a second to appear.
"""

from __future__ import annotations

import re

from temporalio.client import Client, WorkflowExecution

from step_sdk.errors import Problem
from stepwell_settings import Settings
from ui_api.cursors import seal, unseal
from ui_api.errors import invalid
from ui_api.runs import search_attributes
from ui_api.runs.reader import run_links, run_status
from ui_api.runs.schemas import RunPage, RunStatus, RunSummary, RunTrigger
from ui_api.temporal_rpc import RPC_TIMEOUT
from workflows.types import FLOW_RUN

# Ids the API hands out (flw_..., ws_...) and nothing that could close a quoted string.
SAFE_VALUE = re.compile(r"^[A-Za-z0-9_-]{1,100}$")

TEMPORAL_STATUS = {
    RunStatus.running: "Running",
    RunStatus.succeeded: "Completed",
    RunStatus.failed: "Failed",
    RunStatus.cancelled: "Canceled",
    RunStatus.terminated: "Terminated",
    RunStatus.timed_out: "TimedOut",
}


def quoted(value: str) -> str:
    """``value`` as a visibility-query string literal; only safe ids are accepted."""
    if not SAFE_VALUE.match(value):
        raise ValueError(f"{value!r} is not an id")
    return f"'{value}'"


def visibility_query(
    workspace_id: str,
    flow_id: str | None,
    status: RunStatus | None,
    trigger: RunTrigger | None = None,
) -> str:
    """The query for the workspace's runs, optionally of one flow, in one status, started by
    one kind of trigger."""
    clauses = [
        f"WorkflowType = {quoted(FLOW_RUN)}",
        f"{search_attributes.WORKSPACE.name} = {quoted(workspace_id)}",
    ]
    if flow_id is not None:
        clauses.append(f"{search_attributes.FLOW.name} = {quoted(flow_id)}")
    if status is not None:
        clauses.append(f"ExecutionStatus = {quoted(TEMPORAL_STATUS[status])}")
    if trigger is not None:
        clauses.append(f"{search_attributes.TRIGGER.name} = {quoted(trigger.value)}")
    return " AND ".join(clauses)


def summary(settings: Settings, namespace: str, execution: WorkflowExecution) -> RunSummary:
    attributes = execution.typed_search_attributes
    return RunSummary(
        run_id=execution.id,
        flow_id=attributes.get(search_attributes.FLOW),
        flow_version=attributes.get(search_attributes.FLOW_VERSION),
        trigger=attributes.get(search_attributes.TRIGGER),
        status=run_status(execution.status),
        started_at=execution.start_time,
        closed_at=execution.close_time,
        links=run_links(settings, namespace, execution.id),
    )


async def list_runs(
    temporal: Client,
    settings: Settings,
    workspace_id: str,
    *,
    flow_id: str | None,
    status: RunStatus | None,
    trigger: RunTrigger | None = None,
    limit: int,
    cursor: str | None,
) -> RunPage:
    """One page of the workspace's runs, newest first."""
    if flow_id is not None and not SAFE_VALUE.match(flow_id):
        raise invalid(
            "flow_id is not a flow id",
            [Problem("/query/flow_id", "must be a flow id (letters, digits, '_' and '-')")],
        )
    query = visibility_query(workspace_id, flow_id, status, trigger)
    sealing = {"secret": settings.secret_key, "context": query}
    token = unseal(cursor, **sealing) if cursor is not None else None
    listing = temporal.list_workflows(
        query, page_size=limit, next_page_token=token, rpc_timeout=RPC_TIMEOUT
    )
    await listing.fetch_next_page()
    page, next_token = listing.current_page or [], listing.next_page_token
    if next_token and len(page) == limit:
        # Temporal hands out a token whenever a page is full; look ahead so the last page
        # says it is the last.
        peek = temporal.list_workflows(
            query, page_size=1, next_page_token=next_token, rpc_timeout=RPC_TIMEOUT
        )
        await peek.fetch_next_page()
        if not peek.current_page:
            next_token = None
    return RunPage(
        items=[summary(settings, temporal.namespace, execution) for execution in page],
        next_cursor=seal(next_token, **sealing) if next_token else None,
    )
