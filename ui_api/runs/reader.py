"""Reading a run back from Temporal, for the caller's workspace only.

Sources, most exact first: the run's result (it succeeded), the ``progress`` query (running, or
replayed by a worker for a closed run), and the history alone when no worker answers. Pending
activities add what only they know while a step runs: its current attempt and log tail.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.service import RPCError, RPCStatusCode

from activities.connections import MAX_STEP_RECORDS, annotated, clean_records, merged
from stepwell_settings import Settings
from ui_api.errors import not_found
from ui_api.runs import search_attributes
from ui_api.runs.executions import step_executions, step_input
from ui_api.runs.history import ExecutionFacts, HistoryFacts, read_history
from ui_api.runs.schemas import RunDetail, RunError, RunLinks, RunStatus, StepRun
from ui_api.temporal_rpc import RPC_TIMEOUT
from workflows.types import PROGRESS_QUERY

RUN_ID_MAX = 255

STATUS = {
    WorkflowExecutionStatus.RUNNING: RunStatus.running,
    WorkflowExecutionStatus.COMPLETED: RunStatus.succeeded,
    WorkflowExecutionStatus.FAILED: RunStatus.failed,
    WorkflowExecutionStatus.CANCELED: RunStatus.cancelled,
    WorkflowExecutionStatus.TERMINATED: RunStatus.terminated,
    WorkflowExecutionStatus.TIMED_OUT: RunStatus.timed_out,
}


def run_status(status: WorkflowExecutionStatus | None) -> RunStatus:
    # FlowRun never continues as new; anything unexpected is reported as ended from outside.
    if status is None:
        return RunStatus.running
    return STATUS.get(status, RunStatus.terminated)


def run_links(settings: Settings, namespace: str, run_id: str) -> RunLinks:
    run, ui = quote(run_id, safe=""), settings.temporal_ui_url.rstrip("/")
    return RunLinks(
        self=f"/v1/runs/{run}",
        events=f"/v1/runs/{run}/events",
        temporal_ui=f"{ui}/namespaces/{quote(namespace, safe='')}/workflows/{run}",
    )


@dataclass
class VisibleRun:
    """A run the caller may see, as Temporal describes it now."""

    run_id: str
    namespace: str
    handle: WorkflowHandle[Any, Any]
    description: WorkflowExecutionDescription

    @property
    def status(self) -> RunStatus:
        return run_status(self.description.status)

    def attribute(self, key: Any) -> Any:
        return self.description.typed_search_attributes.get(key)


async def visible_run(temporal: Client, workspace_id: str, run_id: str) -> VisibleRun:
    """The run, if it exists and belongs to the workspace; otherwise 404 (the same answer
    for both, so ids of other workspaces' runs cannot be probed)."""
    if not run_id or len(run_id) > RUN_ID_MAX:
        raise not_found("run", run_id[:RUN_ID_MAX])
    handle = temporal.get_workflow_handle(run_id)
    try:
        description = await handle.describe(rpc_timeout=RPC_TIMEOUT)
    except RPCError as exc:
        # Only Temporal saying "no such workflow" means no such run; anything else (down,
        # unreachable, overloaded) propagates and answers 503 (ui_api.errors), never 404.
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            raise not_found("run", run_id) from None
        raise
    run = VisibleRun(run_id, temporal.namespace, handle, description)
    if run.attribute(search_attributes.WORKSPACE) != workspace_id:
        raise not_found("run", run_id)
    return run


async def history_facts(run: VisibleRun) -> HistoryFacts:
    events = [event async for event in run.handle.fetch_history_events(rpc_timeout=RPC_TIMEOUT)]
    return read_history(events, run.description.data_converter.payload_converter)


async def query_progress(run: VisibleRun, timeout_s: float) -> dict[str, Any] | None:
    """The ``progress`` query's answer, or None when no worker answers in time."""
    try:
        answer = await asyncio.wait_for(
            run.handle.query(PROGRESS_QUERY, rpc_timeout=timedelta(seconds=timeout_s)),
            timeout_s + 1,
        )
    except Exception:  # no worker in time, or the query failed: the caller uses history
        return None
    return answer if isinstance(answer, dict) else None


@dataclass
class LiveTail:
    """The newest log tail a running step execution reported in its heartbeats."""

    activity_id: str
    execution_id: str
    attempt: int
    text: str

    @property
    def step_id(self) -> str:
        return self.execution_id.split("[", 1)[0]


def live_tails(run: VisibleRun, facts: HistoryFacts) -> tuple[list[LiveTail], bool]:
    """Tails of the pending step executions, and whether some were scheduled after ``facts``
    was read (their step is unknown until the history is read again)."""
    converter = run.description.data_converter.payload_converter
    tails, unknown = [], False
    for pending in run.description.raw_description.pending_activities:
        execution = facts.executions.get(pending.activity_id)
        if execution is None:
            unknown = True
            continue
        details = None
        if pending.heartbeat_details.payloads:
            try:
                details = converter.from_payload(pending.heartbeat_details.payloads[0])
            except Exception:  # a heartbeat we cannot read carries no tail
                details = None
        text = details.get("log_tail") if isinstance(details, dict) else None
        tails.append(
            LiveTail(
                pending.activity_id,
                execution.execution_id,
                pending.attempt,
                text if isinstance(text, str) else "",
            )
        )
    return tails, unknown


def _latest_per_execution(executions: list[ExecutionFacts]) -> tuple[list[ExecutionFacts], int]:
    """The last activity of each execution id, and how many earlier ones met an infrastructure
    failure (the workflow ran the execution again after a ``SandboxError``)."""
    latest: dict[str, ExecutionFacts] = {}
    infra = 0
    for execution in sorted(executions, key=lambda e: e.scheduled_at):
        earlier = latest.get(execution.execution_id)
        if earlier is not None and (earlier.error or {}).get("type") == "SandboxError":
            infra += 1
        latest[execution.execution_id] = execution
    return list(latest.values()), infra


def _history_step(executions: list[ExecutionFacts], closed: bool) -> dict[str, Any]:
    """A step's state rebuilt from its executions alone (no worker answered the query)."""
    if not executions:
        return {"status": "not_started" if closed else "pending"}
    attempts = max(e.attempt for e in executions)
    executions, infra = _latest_per_execution(executions)
    outcomes = {e.outcome for e in executions}
    failed = next((e for e in executions if e.outcome in ("failed", "timed_out")), None)
    cancelled = next((e for e in executions if e.outcome == "cancelled"), None)
    results = [e.result or {} for e in executions]
    finished = [e.finished_at for e in executions if e.finished_at is not None]
    started = [e.started_at or e.scheduled_at for e in executions]
    state: dict[str, Any] = {
        "attempts": attempts,
        "started_at": min(started),
        "finished_at": max(finished) if len(finished) == len(executions) else None,
        "duration_ms": sum(int(r.get("duration_ms") or 0) for r in results),
        "logs": "".join(str(r.get("logs") or "") for r in results),
        "infra_retries": infra,
    }
    if failed is not None:
        error = failed.error or {"type": "StepError", "message": "the step failed"}
        state.update(status="failed", error=error, logs=str(error.get("logs") or state["logs"]))
    elif cancelled is not None or (closed and outcomes & {"scheduled", "running"}):
        state.update(status="cancelled")
    elif outcomes & {"scheduled", "running"}:
        state.update(status="running")
    else:
        foreach = any("[" in e.execution_id for e in executions)
        state.update(
            status="succeeded",
            output=_history_output(executions),
            items=len(executions) if foreach else None,
        )
    return state


def _history_output(executions: list[ExecutionFacts]) -> Any:
    """A step's output from its executions' results: a foreach step's item outputs in item
    order (null for an item that did not succeed), else the one execution's output."""
    latest, _ = _latest_per_execution(executions)
    if not any("[" in e.execution_id for e in latest):
        done = [e for e in latest if e.outcome == "succeeded"]
        return (done[-1].result or {}).get("output") if done else None
    outputs: list[Any] = [None] * (max(_index(e) for e in latest) + 1)
    for execution in latest:
        if execution.outcome == "succeeded":
            outputs[_index(execution)] = (execution.result or {}).get("output")
    return outputs


def _index(execution: ExecutionFacts) -> int:
    """The item index of a foreach execution id ``step[index]``."""
    text = execution.execution_id.rsplit("[", 1)[-1].rstrip("]")
    return int(text) if text.isdigit() else 0


def _truthful(state: dict[str, Any], executions: list[ExecutionFacts], closed: bool) -> None:
    """Correct a workflow-reported state with what only the history knows: attempts counted by
    Temporal (the workflow learns them only when an execution ends), and, once the run has
    ended, no step left pending or running (older runs' workflows did not close them)."""
    if executions:
        state["attempts"] = max(int(state.get("attempts") or 0), *(e.attempt for e in executions))
    if closed and state.get("status") in (None, "pending"):
        state["status"] = "not_started"
    elif closed and state.get("status") == "running":
        state["status"] = "cancelled"


def step_states(facts: HistoryFacts, progress: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Every step's state as JSON (``StepState`` fields), in the definition's order.

    The run's result or the ``progress`` answer is the source when there is one (corrected by the
    history, see :func:`_truthful`); otherwise the state is rebuilt from the history alone.
    """
    closed = facts.result is not None or facts.error is not None
    by_step: dict[str, list[ExecutionFacts]] = {}
    for execution in facts.executions.values():
        by_step.setdefault(execution.step_id, []).append(execution)
    for source in (facts.result, progress):
        steps = source.get("steps") if source else None
        if isinstance(steps, dict):
            states = {step_id: dict(steps.get(step_id) or {}) for step_id in facts.step_ids()}
            for step_id, state in states.items():
                executions = by_step.get(step_id, [])
                _truthful(state, executions, closed)
                if source is facts.result and state.get("output") is None and executions:
                    # a result holds no step outputs: they are in the history
                    state["output"] = _history_output(executions)
            return _with_connections(_with_run_outcome(states, by_step, facts), by_step)
    states = {
        step_id: _history_step(by_step.get(step_id, []), closed) for step_id in facts.step_ids()
    }
    return _with_connections(_with_run_outcome(states, by_step, facts), by_step)


def step_connections(executions: list[ExecutionFacts]) -> tuple[list[dict[str, Any]], int]:
    """A step's connection records from every activity of it in the history (attempts after an
    infrastructure failure ran as new activities; foreach items are activities of their own), in
    the order they were scheduled, item by item, and how many were left out."""
    records: list[dict[str, Any]] = []
    dropped = 0
    for execution in sorted(executions, key=lambda e: (e.scheduled_at, _index(e))):
        item = _index(execution) if "[" in execution.execution_id else None
        new = annotated(execution.connections, attempt=execution.attempt or None, item=item)
        records, dropped = merged(records, new, dropped, MAX_STEP_RECORDS)
    return records, dropped


def _with_connections(
    states: dict[str, dict[str, Any]], by_step: dict[str, list[ExecutionFacts]]
) -> dict[str, dict[str, Any]]:
    """Every step's connections, from the history: the record of truth, which holds every
    record a run's result or progress could (they come from the same activities)."""
    for step_id, state in states.items():
        records, dropped = step_connections(by_step.get(step_id, []))
        state.pop("connections", None)
        state.pop("connections_not_recorded", None)
        if records or dropped:  # StepRun shows none otherwise
            state["connections"], state["connections_not_recorded"] = records, dropped
    return states


def _with_run_outcome(
    states: dict[str, dict[str, Any]],
    by_step: dict[str, list[ExecutionFacts]],
    facts: HistoryFacts,
) -> dict[str, dict[str, Any]]:
    """What only the run's end tells about its steps: the step that failed the run (even one
    that never reached an activity, e.g. an input too large to schedule) is failed with its
    error, and a step cut short by the run's end (a run timeout, a termination) ended then,
    after at least the attempt it had scheduled."""
    failed = facts.error.get("step_id") if facts.error else None
    if isinstance(failed, str) and failed in states and states[failed].get("status") != "failed":
        state = states[failed]
        state["status"] = "failed"
        state["error"] = facts.step_error or {
            "type": facts.error.get("type", "FlowFailed") if facts.error else "FlowFailed",
            "message": facts.error.get("message", "") if facts.error else "",
        }
        state["finished_at"] = state.get("finished_at") or facts.closed_at
    if facts.closed_at is not None:
        for step_id, state in states.items():
            if state.get("status") != "cancelled":
                continue
            state["finished_at"] = state.get("finished_at") or facts.closed_at
            if by_step.get(step_id) and not state.get("attempts"):
                state["attempts"] = 1  # scheduled when the run ended: Temporal records the
                # start of an attempt only once it ends, so the history counts none
    return states


def _step_run(state: dict[str, Any], tails: list[LiveTail]) -> StepRun:
    duration = state.get("duration_ms") or None
    step = StepRun(
        status=str(state.get("status") or "pending"),
        attempts=int(state.get("attempts") or 0),
        started_at=state.get("started_at"),
        finished_at=state.get("finished_at"),
        duration_ms=duration,
        output=state.get("output"),
        error=state.get("error"),
        logs=str(state.get("logs") or ""),
        items=state.get("items"),
        infra_retries=int(state.get("infra_retries") or 0),
        infra_error=state.get("infra_error"),
        connections=clean_records(state.get("connections"), MAX_STEP_RECORDS),
        connections_not_recorded=int(state.get("connections_not_recorded") or 0),
    )
    if step.duration_ms is None and step.started_at and step.finished_at:
        step.duration_ms = int((step.finished_at - step.started_at).total_seconds() * 1000)
    if tails and step.status == "running":
        step.attempts = max(step.attempts, *(tail.attempt for tail in tails))
        step.logs = step.logs or "".join(tail.text for tail in tails)
    return step


async def read_run(settings: Settings, run: VisibleRun) -> RunDetail:
    """Everything the API shows of one run."""
    facts = await history_facts(run)
    progress = None
    if facts.result is None:  # a result holds every step already
        progress = await query_progress(run, 5 if run.status == RunStatus.running else 2)
    tails, _ = live_tails(run, facts) if run.status == RunStatus.running else ([], False)
    states = step_states(facts, progress)
    by_step: dict[str, list[ExecutionFacts]] = {}
    for execution in facts.executions.values():
        by_step.setdefault(execution.step_id, []).append(execution)
    pending = list(run.description.raw_description.pending_activities)
    flow_version = run.attribute(search_attributes.FLOW_VERSION)
    return RunDetail(
        run_id=run.run_id,
        flow_id=run.attribute(search_attributes.FLOW) or facts.run_input.get("flow_id"),
        flow_version=flow_version
        if flow_version is not None
        else facts.run_input.get("flow_version"),
        trigger=run.attribute(search_attributes.TRIGGER),
        status=run.status,
        input=facts.trigger,
        started_at=run.description.start_time,
        closed_at=run.description.close_time,
        output=(facts.result or {}).get("output"),
        error=RunError.model_validate(facts.error) if facts.error else None,
        steps={
            step_id: _step_run(state, [t for t in tails if t.step_id == step_id]).model_copy(
                update={
                    "input": step_input(by_step.get(step_id, [])),
                    "executions": step_executions(by_step.get(step_id, []), pending),
                }
            )
            for step_id, state in states.items()
        },
        links=run_links(settings, run.namespace, run.run_id),
    )
