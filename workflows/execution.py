"""One step execution from inside ``FlowRun``: the ``run_step`` activity with the step's retry
policy, and infrastructure retries on the platform's own budget.

A ``SandboxError`` (Docker engine unreachable, image missing) is the platform's fault, not the
step's, so Temporal does not retry it against the step's ``max_attempts``: the activity fails at
once, and this module waits (workflow timer, exponential backoff) and runs the activity again
with the attempts the step has left, numbering attempts on from where they were. It stops when
the next try would start after the platform budget (``FlowRunInput.infra_retry_budget_s``) or
the run's own timeout; the step then fails with the last ``SandboxError``. Every such retry is
counted in the step's state (``infra_retries``, ``infra_error``).

A heartbeat timeout (the worker running the step died) is a platform fault too. Temporal retries
it within the step's policy; when it ends the last allowed attempt, that attempt is given back
and the execution is retried as above.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    TimeoutError,
    TimeoutType,
)

with workflow.unsafe.imports_passed_through():
    from activities.connections import MAX_STEP_RECORDS, annotated, merged
    from activities.types import NON_RETRYABLE, RUN_STEP, RunStepInput, RunStepOutput
    from workflows.definition import FlowStep
    from workflows.payload_limits import check_step_input
    from workflows.types import FlowRunInput, ResolvedStep, StepState

# Time for a container to start and, the first time, for a dependency layer to build.
ACTIVITY_OVERHEAD_S = 600
SANDBOX_ERROR = "SandboxError"
INFRA_FIRST_DELAY_S = 1.0
INFRA_MAX_DELAY_S = 60.0


def error_of(exc: ActivityError) -> dict[str, Any]:
    """The contract-3 error of a failed activity (after its retries).

    Raises:
        asyncio.CancelledError: the activity was cancelled (this step is being cancelled); that
            is not an error of the step.
    """
    cause = exc.cause
    if isinstance(cause, CancelledError):
        raise asyncio.CancelledError()
    if isinstance(cause, ApplicationError):
        details = cause.details[0] if cause.details else {}
        details = details if isinstance(details, dict) else {}
        return {
            "type": cause.type or "StepError",
            "message": cause.message,
            "traceback": details.get("traceback", ""),
            "logs": details.get("logs", ""),
            "attempt": details.get("attempt", 0),
        }
    if _worker_lost(exc):
        return {
            "type": SANDBOX_ERROR,
            "message": "the worker running the step stopped heartbeating (it died, or lost "
            "contact with Temporal)",
        }
    if isinstance(cause, TimeoutError):
        return {"type": "StepTimeout", "message": f"the step timed out ({cause.type})"}
    return {"type": SANDBOX_ERROR, "message": str(cause or exc)}


def connections_of(exc: ActivityError) -> list[dict[str, Any]]:
    """The connection records a failed activity carried in its failure's details."""
    cause = exc.cause
    if isinstance(cause, ApplicationError) and cause.details:
        details = cause.details[0]
        if isinstance(details, dict):
            return annotated(details.get("connections"))
    return []


def record_connections(state: StepState, records: list[dict[str, Any]], item: int | None) -> None:
    """Add one activity's records to the step's state (with the foreach item), bounded."""
    state.connections, state.connections_not_recorded = merged(
        state.connections,
        annotated(records, item=item),
        state.connections_not_recorded,
        MAX_STEP_RECORDS,
    )


def _cannot_heal(exc: ActivityError) -> bool:
    """A ``SandboxError`` the worker marked non-retryable: waiting cannot heal it (a bundle its
    store lacks), so it is not retried on the platform's budget."""
    cause = exc.cause
    return isinstance(cause, ApplicationError) and cause.non_retryable


def _worker_lost(exc: ActivityError) -> bool:
    """A heartbeat timeout: the worker went away; the step's own deadline is enforced inside
    the activity, which heartbeats all the while."""
    cause = exc.cause
    return isinstance(cause, TimeoutError) and cause.type == TimeoutType.HEARTBEAT


def _policy(step: FlowStep, manifest: dict[str, Any], attempts_left: int) -> RetryPolicy:
    retry = manifest.get("retry") or {}
    narrowed = step.retry

    def pick(field: str, default: float) -> Any:
        value = getattr(narrowed, field, None) if narrowed is not None else None
        return value if value is not None else retry.get(field, default)

    return RetryPolicy(
        initial_interval=timedelta(seconds=float(pick("initial_interval_s", 1))),
        backoff_coefficient=float(pick("backoff", 2.0)),
        maximum_attempts=attempts_left,
        non_retryable_error_types=[*NON_RETRYABLE, SANDBOX_ERROR],
    )


def max_attempts(step: FlowStep, manifest: dict[str, Any]) -> int:
    """The step's attempt budget: the flow's narrowing, else the manifest's (default 3)."""
    narrowed = step.retry.max_attempts if step.retry is not None else None
    return int(narrowed or (manifest.get("retry") or {}).get("max_attempts", 3))


def _infra_deadline(request: FlowRunInput, first_failure: datetime) -> datetime:
    """When infrastructure retries of one execution must stop: the platform budget, or the
    run's own timeout if that comes first."""
    deadline = first_failure + timedelta(seconds=request.infra_retry_budget_s)
    info = workflow.info()
    timeout = info.execution_timeout or info.run_timeout
    if timeout is not None:
        deadline = min(deadline, info.start_time + timeout)
    return deadline


async def execute_step(
    request: FlowRunInput,
    step: FlowStep,
    resolved: ResolvedStep,
    payload: Any,
    execution_id: str,
    state: StepState,
    item: int | None = None,
) -> RunStepOutput:
    """Run one execution (a step, or one foreach item) until it succeeds or fails for good.

    Raises:
        ActivityError: the step failed (its retries spent, or a non-retryable error), or the
            infrastructure stayed down beyond the budget.
        workflows.payload_limits.InputTooLarge: the input cannot cross Temporal (an
            ``ExpressionError``: the step's ``InputValidationError``).
    """
    manifest = resolved.manifest
    timeout_s = float(step.timeout_s or (manifest.get("limits") or {}).get("timeout_s", 30))
    budget = max_attempts(step, manifest)
    used = 0
    delay = INFRA_FIRST_DELAY_S
    first_failure: datetime | None = None
    while True:
        activity_input = RunStepInput(
            run_id=workflow.info().workflow_id,
            step_id=execution_id,
            ref=step.uses,
            digest=resolved.digest,
            manifest=manifest,
            input=payload,
            timeout_s=timeout_s,
            workspace_id=request.workspace_id,
            attempt_offset=used,
        )
        check_step_input(execution_id, activity_input)
        try:
            result: RunStepOutput = await workflow.execute_activity(
                RUN_STEP,
                activity_input,
                result_type=RunStepOutput,
                start_to_close_timeout=timedelta(seconds=timeout_s + ACTIVITY_OVERHEAD_S),
                heartbeat_timeout=timedelta(seconds=request.heartbeat_timeout_s),
                retry_policy=_policy(step, manifest, budget - used),
                cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
        except ActivityError as exc:
            error = error_of(exc)
            record_connections(state, connections_of(exc), item)
            state.attempts = max(state.attempts, int(error.get("attempt") or 0))
            if error["type"] != SANDBOX_ERROR or _cannot_heal(exc):
                raise
            now = workflow.now()
            first_failure = first_failure or now
            if now + timedelta(seconds=delay) >= _infra_deadline(request, first_failure):
                raise
            # The attempt that met the infrastructure fault is not the step's: give it back. A
            # lost worker is only known once the policy's attempts are spent (Temporal retries
            # heartbeat timeouts itself), so only the last one is given back then.
            if _worker_lost(exc):
                used = budget - 1
            else:
                used = max(used, int(error.get("attempt") or used + 1) - 1)
            state.infra_retries += 1
            state.infra_error = {
                "type": SANDBOX_ERROR, "message": error["message"], "at": now.isoformat()
            }  # fmt: skip
            await workflow.sleep(delay)
            delay = min(delay * 2, INFRA_MAX_DELAY_S)
            continue
        state.attempts = max(state.attempts, result.attempt)
        record_connections(state, result.connections, item)
        state.duration_ms += result.duration_ms
        if result.logs:
            state.logs = (state.logs + result.logs)[-65536:]
        return result
