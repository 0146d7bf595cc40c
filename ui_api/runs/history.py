"""The facts of a run that only its Temporal history holds, read in one pass.

The history is the record of truth: the run's frozen input (with the trigger), every step
execution (an activity: when scheduled, started and closed, its attempt, result or failure),
and how the run itself ended.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType, TimeoutType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.converter import PayloadConverter

from activities.connections import clean_records


@dataclass
class ExecutionFacts:
    """One activity of the run: one step, or one ``foreach`` item of a step."""

    activity_id: str
    execution_id: str  # the step id, or "<step id>[<index>]" for a foreach item
    scheduled_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    attempt: int = 0
    outcome: str = "scheduled"  # scheduled | running | succeeded | failed | timed_out | cancelled
    result: dict[str, Any] | None = None  # RunStepOutput as JSON
    error: dict[str, Any] | None = None  # {"type", "message", "traceback", "logs", "attempt"}
    # attempts spent by earlier activities of the same execution (see RunStepInput); ``attempt``
    # counts on from it, as the step saw it
    attempt_offset: int = 0
    # the connection records its result or failure carried (activities.connections: clean)
    connections: list[dict[str, Any]] = field(default_factory=list)
    input: Any = None  # the step's input as the workflow rendered it (RunStepInput.input)
    # the owner id (Temporal identity) of the worker that ran its latest attempt, once recorded
    worker: str | None = None

    @property
    def step_id(self) -> str:
        return self.execution_id.split("[", 1)[0]


@dataclass
class HistoryFacts:
    run_input: dict[str, Any] = field(default_factory=dict)  # FlowRunInput as JSON
    executions: dict[str, ExecutionFacts] = field(default_factory=dict)  # by activity id
    result: dict[str, Any] | None = None  # FlowRunOutput as JSON, when it succeeded
    error: dict[str, Any] | None = None  # how it failed, was cancelled, terminated, timed out
    timeout_s: float | None = None  # the run's time limit (Temporal's execution timeout)
    closed_at: datetime | None = None  # when the run ended, whichever way
    # the contract-3 error of the step that failed the run (FlowFailed's details)
    step_error: dict[str, Any] | None = None

    @property
    def trigger(self) -> Any:
        return self.run_input.get("trigger")

    def step_ids(self) -> list[str]:
        """The flow's step ids in definition order."""
        steps = (self.run_input.get("definition") or {}).get("steps") or []
        return [str(step.get("id")) for step in steps if isinstance(step, dict)]


def _time(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime(tzinfo=UTC)


def _first(converter: PayloadConverter, payloads: Payloads) -> Any:
    """The first payload's value, or None when there is none or it cannot be decoded."""
    if not payloads.payloads:
        return None
    try:
        return converter.from_payload(payloads.payloads[0])
    except Exception:  # a payload this converter does not know: show nothing rather than fail
        return None


def failure_error(converter: PayloadConverter, failure: Failure) -> dict[str, Any]:
    """A contract-3 style error from a Temporal failure (an activity's or the run's).

    The application failure's own details (``type``, ``traceback``, ``logs``, ``attempt``,
    ``step_id``) win over what the failure's envelope says.
    """
    info = failure.application_failure_info
    error: dict[str, Any] = {"type": info.type or "Error", "message": failure.message}
    if failure.HasField("timeout_failure_info"):
        # a heartbeat timeout means the worker went away (the step's own deadline is enforced
        # inside a heartbeating activity): the platform's fault, as FlowRun reports it too
        lost = failure.timeout_failure_info.timeout_type == TimeoutType.TIMEOUT_TYPE_HEARTBEAT
        error["type"] = "SandboxError" if lost else "StepTimeout"
    details = _first(converter, info.details) if info.HasField("details") else None
    if isinstance(details, dict):
        for key in ("type", "message", "traceback", "logs", "attempt", "step_id"):
            if key in details:
                error[key] = details[key]
    return error


def failure_connections(converter: PayloadConverter, failure: Failure) -> list[dict[str, Any]]:
    """The connection records a failed step execution carried in its failure's details."""
    info = failure.application_failure_info
    details = _first(converter, info.details) if info.HasField("details") else None
    return clean_records(details.get("connections")) if isinstance(details, dict) else []


_ACTIVITY_CLOSED = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: "failed",
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "timed_out",
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "cancelled",
}


def read_history(events: Iterable[HistoryEvent], converter: PayloadConverter) -> HistoryFacts:
    """Everything :class:`HistoryFacts` holds, from a run's history events in order."""
    facts = HistoryFacts()
    by_event: dict[int, ExecutionFacts] = {}
    for event in events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            opened = event.workflow_execution_started_event_attributes
            run_input = _first(converter, opened.input)
            facts.run_input = run_input if isinstance(run_input, dict) else {}
            if opened.HasField("workflow_execution_timeout"):
                facts.timeout_s = opened.workflow_execution_timeout.ToTimedelta().total_seconds()
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = event.activity_task_scheduled_event_attributes
            request = _first(converter, attributes.input)
            execution_id = request.get("step_id") if isinstance(request, dict) else None
            offset = request.get("attempt_offset") if isinstance(request, dict) else None
            scheduled = ExecutionFacts(
                activity_id=attributes.activity_id,
                execution_id=str(execution_id or "?"),
                scheduled_at=_time(event),
                attempt_offset=offset if isinstance(offset, int) and offset >= 0 else 0,
                input=request.get("input") if isinstance(request, dict) else None,
            )
            by_event[event.event_id] = scheduled
            facts.executions[scheduled.activity_id] = scheduled
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started = event.activity_task_started_event_attributes
            if execution := by_event.get(started.scheduled_event_id):
                execution.started_at = _time(event)
                execution.attempt = started.attempt + execution.attempt_offset
                execution.outcome = "running"
                execution.worker = started.identity or None
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            completed = event.activity_task_completed_event_attributes
            if execution := by_event.get(completed.scheduled_event_id):
                result = _first(converter, completed.result)
                execution.result = result if isinstance(result, dict) else None
                execution.finished_at, execution.outcome = _time(event), "succeeded"
                execution.connections = clean_records((execution.result or {}).get("connections"))
        elif kind in _ACTIVITY_CLOSED:
            scheduled_event_id, failure = _closing(event)
            if execution := by_event.get(scheduled_event_id):
                execution.finished_at, execution.outcome = _time(event), _ACTIVITY_CLOSED[kind]
                if failure is not None:
                    execution.error = failure_error(converter, _root_cause(failure))
                    execution.connections = failure_connections(converter, _root_cause(failure))
        else:
            _run_outcome(facts, event, converter)
    return facts


def _closing(event: HistoryEvent) -> tuple[int, Failure | None]:
    """The scheduled event id and failure of an activity that failed, timed out or was
    cancelled."""
    if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
        failed = event.activity_task_failed_event_attributes
        return failed.scheduled_event_id, failed.failure
    if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
        timed_out = event.activity_task_timed_out_event_attributes
        return timed_out.scheduled_event_id, timed_out.failure
    return event.activity_task_canceled_event_attributes.scheduled_event_id, None


def _root_cause(failure: Failure) -> Failure:
    """An activity failure wraps the application failure it reports (retry state etc.)."""
    while not failure.HasField("application_failure_info") and failure.HasField("cause"):
        failure = failure.cause
    return failure


_RUN_CLOSED = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
}


def _run_outcome(facts: HistoryFacts, event: HistoryEvent, converter: PayloadConverter) -> None:
    kind = event.event_type
    if kind in _RUN_CLOSED:
        facts.closed_at = _time(event)
    if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        result = _first(converter, event.workflow_execution_completed_event_attributes.result)
        facts.result = result if isinstance(result, dict) else None
    elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
        failure = event.workflow_execution_failed_event_attributes.failure
        info = failure.application_failure_info
        facts.error = {"type": info.type or "FlowFailed", "message": failure.message}
        details = _first(converter, info.details) if info.HasField("details") else None
        if isinstance(details, dict) and isinstance(details.get("step_id"), str):
            facts.error["step_id"] = details["step_id"]
            kept = ("type", "message", "traceback", "pointer", "items", "item")
            facts.step_error = {key: details[key] for key in kept if key in details}
    elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
        facts.error = {"type": "Cancelled", "message": "the run was cancelled"}
    elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
        reason = event.workflow_execution_terminated_event_attributes.reason
        facts.error = {"type": "Terminated", "message": reason or "the run was terminated"}
    elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
        limit = f" of {facts.timeout_s:g} s" if facts.timeout_s else ""
        message = f"the run exceeded its time limit{limit} (the flow's timeout_s)"
        facts.error = {"type": "RunTimeout", "message": message}
