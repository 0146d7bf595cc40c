"""A step's executions as a run page shows them: its resolved input, and a timeline entry per
execution (one activity: the step, or one ``foreach`` item; run again after an
infrastructure failure, an execution is a new activity).

What the history cannot tell while an execution runs (Temporal records the start of an attempt
only once it ends) comes from the run's pending activities: the attempt, when it started and
which worker runs it.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.workflow.v1 import PendingActivityInfo

from ui_api.runs.history import ExecutionFacts
from ui_api.runs.schemas import StepExecution


def item_of(execution: ExecutionFacts) -> int | None:
    """The item index of a foreach execution (``step[index]``), None for a plain step."""
    if "[" not in execution.execution_id:
        return None
    text = execution.execution_id.rsplit("[", 1)[-1].rstrip("]")
    return int(text) if text.isdigit() else None


def step_input(executions: list[ExecutionFacts]) -> Any:
    """The input the step ran with: its latest execution's, or for a foreach step the input of
    each item in item order (null for an item not scheduled yet)."""
    latest: dict[str, ExecutionFacts] = {}
    for execution in sorted(executions, key=lambda e: e.scheduled_at):
        latest[execution.execution_id] = execution
    if not latest:
        return None
    items = {item_of(e): e.input for e in latest.values()}
    if None in items:
        return items[None]
    inputs: list[Any] = [None] * (max(i for i in items if i is not None) + 1)
    for index, value in items.items():
        if index is not None:
            inputs[index] = value
    return inputs


def _pending_by_id(pending: list[PendingActivityInfo]) -> dict[str, PendingActivityInfo]:
    return {activity.activity_id: activity for activity in pending}


def step_executions(
    executions: list[ExecutionFacts], pending: list[PendingActivityInfo]
) -> list[StepExecution]:
    """The step's executions in the order they were scheduled (item order within a fan-out)."""
    live = _pending_by_id(pending)
    entries = []
    for execution in sorted(executions, key=lambda e: (e.scheduled_at, item_of(e) or 0)):
        started_at, attempt, status = execution.started_at, execution.attempt, execution.outcome
        worker = execution.worker
        activity = live.get(execution.activity_id)
        if activity is not None and status in ("scheduled", "running"):
            attempt = max(attempt, activity.attempt + execution.attempt_offset)
            if activity.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED:
                status = "running"
                if activity.HasField("last_started_time"):
                    started_at = activity.last_started_time.ToDatetime(tzinfo=UTC)
                worker = activity.last_worker_identity or worker
        result = execution.result or {}
        error = execution.error or {}
        entries.append(
            StepExecution(
                execution_id=execution.execution_id,
                item=item_of(execution),
                attempt=attempt,
                status=status,
                scheduled_at=execution.scheduled_at,
                started_at=started_at,
                finished_at=execution.finished_at,
                duration_ms=duration
                if isinstance(duration := result.get("duration_ms"), int)
                else None,
                error_type=error.get("type") if execution.error else None,
                worker=worker,
            )
        )
    return entries
