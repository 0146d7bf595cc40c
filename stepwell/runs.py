"""Reading runs back from Temporal: status, output and a per-step timeline from history."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus

from activities.connections import annotated
from workflows.types import PROGRESS_QUERY

_STATUS = {
    WorkflowExecutionStatus.RUNNING: "running",
    WorkflowExecutionStatus.COMPLETED: "succeeded",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.CANCELED: "cancelled",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.TIMED_OUT: "timed_out",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "continued",
}


@dataclass
class Execution:
    """One activity execution (all its attempts) of one step, from history."""

    step_id: str
    attempts: int = 0
    scheduled_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    outcome: str = "running"
    error: str = ""
    # the owner id of the worker that ran its latest attempt (its Temporal identity, e.g.
    # "vm/19550/3874a1595b5a"); "" until an attempt has started
    worker: str = ""
    # network connections, as the egress proxy recorded them (activities.connections: clean,
    # each with its "attempt"; "item" for a foreach item)
    connections: list[dict[str, Any]] = field(default_factory=list)
    # files its last attempt saved, as references (activities.artifacts): {"name",
    # "content_type", "size_bytes", "digest"}
    artifacts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def duration_ms(self) -> int | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return int((self.finished_at - self.started_at).total_seconds() * 1000)


@dataclass
class RunView:
    """What a person wants to see of a run."""

    run_id: str
    status: str
    started_at: datetime | None
    closed_at: datetime | None
    executions: list[Execution] = field(default_factory=list)
    output: Any = None
    error: str = ""
    progress: dict[str, Any] | None = None


_CLOSING = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: (
        "succeeded",
        "activity_task_completed_event_attributes",
    ),
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: ("failed", "activity_task_failed_event_attributes"),
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: (
        "timed_out",
        "activity_task_timed_out_event_attributes",
    ),
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: (
        "cancelled",
        "activity_task_canceled_event_attributes",
    ),
}


def _payload_json(payloads: Any) -> Any:
    for payload in payloads.payloads:
        try:
            return json.loads(payload.data)
        except ValueError:
            return None
    return None


async def read_run(client: Client, run_id: str) -> RunView:
    """Describe a run and rebuild its timeline from Temporal's history (the record of truth)."""
    handle = client.get_workflow_handle(run_id)
    description = await handle.describe()
    status = _STATUS.get(description.status, "unknown") if description.status else "unknown"
    view = RunView(run_id, status, description.start_time, description.close_time)
    failed_step: str | None = None
    by_scheduled: dict[int, Execution] = {}
    by_activity: dict[str, Execution] = {}
    async for event in handle.fetch_history_events():
        kind = event.event_type
        when = event.event_time.ToDatetime()
        if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            request = _payload_json(event.activity_task_scheduled_event_attributes.input) or {}
            execution = Execution(step_id=str(request.get("step_id", "?")), scheduled_at=when)
            by_scheduled[event.event_id] = execution
            by_activity[event.activity_task_scheduled_event_attributes.activity_id] = execution
            view.executions.append(execution)
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started = event.activity_task_started_event_attributes
            execution = by_scheduled[started.scheduled_event_id]
            execution.attempts, execution.started_at = started.attempt, when
            execution.worker = started.identity
        elif kind in _CLOSING:
            outcome, attribute = _CLOSING[kind]
            closing = getattr(event, attribute)
            execution = by_scheduled[closing.scheduled_event_id]
            execution.finished_at, execution.outcome = when, outcome
            if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                result = _payload_json(closing.result)
                carried = result.get("connections") if isinstance(result, dict) else None
                execution.connections = _connections(execution, carried)
                execution.artifacts = _artifacts(result)
            if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
                failure = closing.failure
                error_type = failure.application_failure_info.type or "error"
                execution.error = f"{error_type}: {failure.message}"
                details = _payload_json(_root_cause(failure).application_failure_info.details)
                carried = details.get("connections") if isinstance(details, dict) else None
                execution.connections = _connections(execution, carried)
                execution.artifacts = _artifacts(details)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            result = _payload_json(event.workflow_execution_completed_event_attributes.result)
            view.output = (result or {}).get("output")
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            failure = event.workflow_execution_failed_event_attributes.failure
            view.error = failure.message
            details = _payload_json(failure.application_failure_info.details) or {}
            failed_step = details.get("step_id") if isinstance(details, dict) else None
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
            view.error = "the run exceeded its time limit (the flow's timeout_s)"
    if status != "running":
        _close(view, failed_step if status == "failed" else None)
    if status == "running":
        # Temporal writes an attempt's start into history only when the attempt ends: a running
        # step's worker is its pending activity's last worker
        for pending in description.raw_description.pending_activities:
            if (running := by_activity.get(pending.activity_id)) and pending.last_worker_identity:
                running.worker = pending.last_worker_identity
        try:
            view.progress = await handle.query(PROGRESS_QUERY)
        except Exception:  # no worker answering queries right now: history still stands
            view.progress = None
    return view


def _artifacts(carrier: Any) -> list[dict[str, Any]]:
    """The artifact references an activity result or failure carries (well-formed ones only)."""
    found = carrier.get("artifacts") if isinstance(carrier, dict) else None
    keys = {"name", "content_type", "size_bytes", "digest"}
    return [a for a in found or [] if isinstance(a, dict) and keys <= set(a)]


def _root_cause(failure: Any) -> Any:
    """An activity failure wraps the application failure it reports."""
    while not failure.HasField("application_failure_info") and failure.HasField("cause"):
        failure = failure.cause
    return failure


def _connections(execution: Execution, records: Any) -> list[dict[str, Any]]:
    """Clean records, with the foreach item of an execution ``step[index]``."""
    index = execution.step_id.rsplit("[", 1)[-1].rstrip("]") if "[" in execution.step_id else ""
    item = int(index) if index.isdigit() else None
    return annotated(records, attempt=execution.attempts or None, item=item)


def _close(view: RunView, failed_step: str | None) -> None:
    """An ended run has no running execution: one still open when the run ended (a run timeout,
    a termination) ended with it, after at least the attempt it had scheduled (Temporal records
    an attempt's start only when it ends). The step that failed the run is listed even when it
    never reached an activity (e.g. its input was too large to schedule)."""
    for execution in view.executions:
        if execution.outcome == "running":
            execution.outcome = "cancelled"
            execution.finished_at = execution.finished_at or view.closed_at
            execution.attempts = max(execution.attempts, 1)
    if failed_step and not any(e.step_id == failed_step for e in view.executions):
        view.executions.append(
            Execution(
                step_id=failed_step,
                finished_at=view.closed_at,
                outcome="failed",
                error=view.error,
            )
        )
