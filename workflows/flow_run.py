"""``FlowRun``: a deterministic interpreter of a flow definition.

Steps start as soon as everything they reference (or ``needs``) has finished; independent steps
run in parallel. ``if`` may skip a step (and, transitively, steps that depend on it and have no
``if`` of their own); ``foreach`` fans out with bounded concurrency and keeps results in order;
``on_error: continue`` records a failure as the step's result. Any other failure cancels the
running steps and fails the run with a summary naming the step.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, replace
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError

with workflow.unsafe.imports_passed_through():
    from activities.types import NON_RETRYABLE, RUN_STEP, RunStepInput, RunStepOutput
    from workflows.definition import FlowDefinition, FlowStep
    from workflows.expressions import (
        ExpressionError,
        condition_source,
        evaluate,
        render,
        truthy,
    )
    from workflows.graph import dependencies
    from workflows.payload_limits import check_step_input, result_too_large
    from workflows.types import (
        FLOW_RUN,
        PROGRESS_QUERY,
        FlowRunInput,
        FlowRunOutput,
        ResolvedStep,
        StepState,
    )

# Time for a container to start and, the first time, for a dependency layer to build.
_ACTIVITY_OVERHEAD_S = 600


class StepFailed(Exception):
    """A step failed and its ``on_error`` is ``fail``."""

    def __init__(self, step_id: str, error: dict[str, Any]) -> None:
        super().__init__(f"step {step_id!r} failed: {error['type']}: {error['message']}")
        self.step_id = step_id
        self.error = error


@workflow.defn(name=FLOW_RUN)
class FlowRun:
    """Runs one flow definition to completion."""

    def __init__(self) -> None:
        self._status = "running"
        self._states: dict[str, StepState] = {}

    @workflow.query(name=PROGRESS_QUERY)
    def progress(self) -> dict[str, Any]:
        """Live status of the run and of every step."""
        return {"status": self._status, "steps": {k: asdict(v) for k, v in self._states.items()}}

    @workflow.run
    async def run(self, request: FlowRunInput) -> FlowRunOutput:
        definition = FlowDefinition.model_validate(request.definition)
        self._states = {step.id: StepState() for step in definition.steps}
        scope: dict[str, Any] = {"trigger": request.trigger, "steps": {}, "vars": definition.vars}
        try:
            await self._run_all(request, definition, scope)
        except StepFailed as failure:
            self._status = "failed"
            raise ApplicationError(
                str(failure), {"step_id": failure.step_id, **failure.error},
                type="FlowFailed", non_retryable=True,
            ) from None  # fmt: skip
        except asyncio.CancelledError:
            self._status = "cancelled"
            raise
        output = self._flow_output(definition, scope)
        # Step outputs are in the history once already (their activities' results): the run's
        # result keeps each step's state without them, so nothing is carried twice.
        steps = {k: replace(v, output=None) for k, v in self._states.items()}
        result = FlowRunOutput(status="succeeded", output=output, steps=steps)
        if (problem := result_too_large(result)) is not None:
            self._status = "failed"
            raise ApplicationError(problem, {"type": "OutputLimitExceeded", "message": problem},
                                   type="OutputLimitExceeded", non_retryable=True)  # fmt: skip
        self._status = "succeeded"
        return result

    async def _run_all(
        self, request: FlowRunInput, definition: FlowDefinition, scope: dict[str, Any]
    ) -> None:
        graph = dependencies(definition)
        by_id = {step.id: step for step in definition.steps}
        pending = [step.id for step in definition.steps]
        finished: set[str] = set()
        running: dict[asyncio.Task[None], str] = {}
        try:
            while pending or running:
                for step_id in [s for s in pending if graph[s] <= finished]:
                    pending.remove(step_id)
                    step = by_id[step_id]
                    task = asyncio.create_task(self._run_step(request, step, graph, scope))
                    running[task] = step_id
                if not running:
                    break
                done, _ = await workflow.wait(list(running), return_when=asyncio.FIRST_COMPLETED)
                for task in sorted(done, key=lambda t: running[t]):
                    finished.add(running.pop(task))
                    task.result()  # raises StepFailed
        finally:
            for task in running:
                task.cancel()
            if running:
                await workflow.wait(list(running))

    async def _run_step(
        self,
        request: FlowRunInput,
        step: FlowStep,
        graph: dict[str, set[str]],
        scope: dict[str, Any],
    ) -> None:
        state = self._states[step.id]
        upstream_skipped = any(self._states[u].status == "skipped" for u in graph[step.id])
        try:
            if step.if_ is not None:
                run = truthy(evaluate(condition_source(step.if_), scope))
            else:
                run = not upstream_skipped
        except ExpressionError as exc:
            self._finish(step, scope, error={"type": "InputValidationError", "message": str(exc)})
            return
        if not run:
            state.status = "skipped"
            scope["steps"][step.id] = {"status": "skipped", "output": None, "error": None}
            return
        state.status = "running"
        state.started_at = workflow.now().isoformat()
        resolved = request.steps[step.uses]
        try:
            if step.foreach is not None:
                output: Any = await self._run_foreach(request, step, resolved, scope, state)
            else:
                payload = render(step.with_, scope)
                result = await self._execute(request, step, resolved, payload, step.id, state)
                output = result.output
        except ExpressionError as exc:
            self._finish(step, scope, error={"type": "InputValidationError", "message": str(exc)})
        except ActivityError as exc:
            self._finish(step, scope, error=_error_of(exc))
        else:
            self._finish(step, scope, output=output)

    def _finish(
        self,
        step: FlowStep,
        scope: dict[str, Any],
        *,
        output: Any = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        state = self._states[step.id]
        state.finished_at = workflow.now().isoformat()
        state.output, state.error = output, error
        state.status = "failed" if error else "succeeded"
        if error and error.get("logs"):
            state.logs = str(error["logs"])
        if error and error.get("attempt"):
            state.attempts = max(state.attempts, int(error["attempt"]))
        scope["steps"][step.id] = {"status": state.status, "output": output, "error": error}
        if error and step.on_error != "continue":
            raise StepFailed(step.id, error)

    async def _run_foreach(
        self,
        request: FlowRunInput,
        step: FlowStep,
        resolved: ResolvedStep,
        scope: dict[str, Any],
        state: StepState,
    ) -> list[Any]:
        items = evaluate(condition_source(step.foreach or ""), scope)
        if not isinstance(items, list):
            raise ExpressionError(f"foreach must give a list, not {type(items).__name__}")
        state.items = len(items)
        gate = asyncio.Semaphore(step.concurrency)

        async def one(index: int, item: Any) -> Any:
            async with gate:
                payload = render(step.with_, {**scope, "item": item, "index": index})
                execution_id = f"{step.id}[{index}]"
                result = await self._execute(request, step, resolved, payload, execution_id, state)
                return result.output

        return list(await asyncio.gather(*(one(i, item) for i, item in enumerate(items))))

    async def _execute(
        self,
        request: FlowRunInput,
        step: FlowStep,
        resolved: ResolvedStep,
        payload: Any,
        execution_id: str,
        state: StepState,
    ) -> RunStepOutput:
        manifest = resolved.manifest
        limits, retry = manifest.get("limits") or {}, manifest.get("retry") or {}
        narrowed = step.retry
        timeout_s = float(step.timeout_s or limits.get("timeout_s", 30))

        def pick(field: str, default: float) -> Any:
            value = getattr(narrowed, field, None) if narrowed is not None else None
            return value if value is not None else retry.get(field, default)

        policy = RetryPolicy(
            initial_interval=timedelta(seconds=float(pick("initial_interval_s", 1))),
            backoff_coefficient=float(pick("backoff", 2.0)),
            maximum_attempts=int(pick("max_attempts", 3)),
            non_retryable_error_types=NON_RETRYABLE,
        )
        activity_input = RunStepInput(
            run_id=workflow.info().workflow_id,
            step_id=execution_id,
            ref=step.uses,
            digest=resolved.digest,
            manifest=manifest,
            input=payload,
            timeout_s=timeout_s,
            workspace_id=request.workspace_id,
        )
        check_step_input(execution_id, activity_input)
        result: RunStepOutput = await workflow.execute_activity(
            RUN_STEP,
            activity_input,
            result_type=RunStepOutput,
            start_to_close_timeout=timedelta(seconds=timeout_s + _ACTIVITY_OVERHEAD_S),
            heartbeat_timeout=timedelta(seconds=request.heartbeat_timeout_s),
            retry_policy=policy,
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        state.attempts = max(state.attempts, result.attempt)
        state.duration_ms += result.duration_ms
        if result.logs:
            state.logs = (state.logs + result.logs)[-65536:]
        return result

    def _flow_output(self, definition: FlowDefinition, scope: dict[str, Any]) -> Any:
        if definition.output is not None:
            return render(definition.output, scope)
        return {step_id: entry["output"] for step_id, entry in scope["steps"].items()}


def _error_of(exc: ActivityError) -> dict[str, Any]:
    """The contract-3 error of a failed activity (after its retries)."""
    cause = exc.cause
    if isinstance(cause, ApplicationError):
        details = cause.details[0] if cause.details else {}
        return {
            "type": cause.type or "StepError",
            "message": cause.message,
            "traceback": details.get("traceback", "") if isinstance(details, dict) else "",
            "logs": details.get("logs", "") if isinstance(details, dict) else "",
            "attempt": details.get("attempt", 0) if isinstance(details, dict) else 0,
        }
    if isinstance(cause, TimeoutError):
        return {"type": "StepTimeout", "message": f"the step timed out ({cause.type})"}
    return {"type": "SandboxError", "message": str(cause or exc)}
