"""``FlowRun``: a deterministic interpreter of a flow definition.

Steps start as soon as everything they reference (or ``needs``) has finished; independent steps
run in parallel. ``if`` may skip a step (and, transitively, steps that depend on it and have no
``if`` of their own); ``foreach`` fans out with bounded concurrency and keeps results in order
(see :mod:`workflows.foreach`); ``on_error: continue`` records a failure as the step's result.
Any other failure cancels the running steps and fails the run with a summary naming the step.

An expression that fails (or an embedded one that gives null) fails its step with
``InputValidationError`` naming the step and the JSON pointer of the field. Any other exception
in this code is a bug: ``failure_exception_types`` makes it fail the run instead of retrying the
workflow task for ever. When the run ends, no step is left ``pending`` or ``running``: they
become ``not_started`` or ``cancelled``.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, replace
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

# Imported into the workflow sandbox (not passed through): they are workflow code themselves, and
# their own pass-through imports register the activity types in the sandbox's modules, where the
# payload converter resolves their type hints.
from workflows.execution import error_of, execute_step
from workflows.foreach import ItemFailed, run_items, step_error

with workflow.unsafe.imports_passed_through():
    from step_sdk.json_values import json_value_problems
    from step_sdk.validation import pointer
    from workflows.definition import FlowDefinition, FlowStep
    from workflows.expressions import (
        ExpressionError,
        condition_source,
        evaluate,
        json_type,
        missing_reason,
        render,
        render_input,
        truthy,
    )
    from workflows.graph import dependencies
    from workflows.payload_limits import result_too_large
    from workflows.types import (
        FLOW_RUN,
        PROGRESS_QUERY,
        FlowRunInput,
        FlowRunOutput,
        ResolvedStep,
        StepState,
    )


class StepFailed(Exception):
    """A step failed and its ``on_error`` is ``fail``."""

    def __init__(self, step_id: str, error: dict[str, Any]) -> None:
        super().__init__(f"step {step_id!r} failed: {error['type']}: {error['message']}")
        self.step_id = step_id
        self.error = error


def _evaluation_error(step: FlowStep, where: str, reason: str) -> dict[str, Any]:
    """The step error of an expression that failed at the JSON pointer ``where``."""
    return {
        "type": "InputValidationError",
        "message": f"step {step.id!r}, {where}: {reason}",
        "pointer": where,
    }


# Any exception (not only Temporal's failure types) fails the run: a bug in this code must end the
# run with an error, never retry the workflow task for ever.
@workflow.defn(name=FLOW_RUN, failure_exception_types=[Exception])
class FlowRun:
    """Runs one flow definition to completion."""

    def __init__(self) -> None:
        self._status = "running"
        self._states: dict[str, StepState] = {}
        self._index: dict[str, int] = {}

    @workflow.query(name=PROGRESS_QUERY)
    def progress(self) -> dict[str, Any]:
        """Live status of the run and of every step."""
        return {"status": self._status, "steps": {k: asdict(v) for k, v in self._states.items()}}

    @workflow.run
    async def run(self, request: FlowRunInput) -> FlowRunOutput:
        definition = FlowDefinition.model_validate(request.definition)
        self._states = {step.id: StepState() for step in definition.steps}
        self._index = {step.id: index for index, step in enumerate(definition.steps)}
        scope: dict[str, Any] = {"trigger": request.trigger, "steps": {}, "vars": definition.vars}
        evicted = False
        try:
            await self._run_all(request, definition, scope)
            output = self._flow_output(definition, scope)
            if found := json_value_problems(output):  # e.g. sum() overflowing to infinity
                where, what = found[0]
                raise ExpressionError(f"gives a value JSON cannot carry: {what}", _parts(where))
        except StepFailed as failure:
            self._status = "failed"
            raise ApplicationError(
                str(failure), {"step_id": failure.step_id, **failure.error},
                type="FlowFailed", non_retryable=True,
            ) from None  # fmt: skip
        except ExpressionError as exc:
            self._status = "failed"
            where = pointer(list(exc.path))
            raise ApplicationError(
                f"the flow's output mapping failed at {where}: {exc.reason}",
                {"type": "InputValidationError", "message": exc.reason, "pointer": where},
                type="FlowFailed", non_retryable=True,
            ) from None  # fmt: skip
        except asyncio.CancelledError:
            self._status = "cancelled"
            raise
        except GeneratorExit:
            # The worker evicted the run from its cache (it resumes elsewhere from history):
            # no workflow call may run now, and the run has not ended.
            evicted = True
            raise
        except Exception:  # a bug: failure_exception_types fails the run with it
            self._status = "failed"
            raise
        finally:
            if not evicted:
                self._close_steps()
        # Step outputs and connection records are in the history once already (their
        # activities' results and failures): the run's result keeps each step's state without
        # them, so nothing is carried twice and they never push the result over its limit.
        steps = {
            k: replace(v, output=None, connections=[], connections_not_recorded=0)
            for k, v in self._states.items()
        }
        result = FlowRunOutput(status="succeeded", output=output, steps=steps)
        if (problem := result_too_large(result)) is not None:
            self._status = "failed"
            raise ApplicationError(problem, {"type": "OutputLimitExceeded", "message": problem},
                                   type="OutputLimitExceeded", non_retryable=True)  # fmt: skip
        self._status = "succeeded"
        return result

    def _close_steps(self) -> None:
        """At the end of the run, no step may still look pending or running."""
        for state in self._states.values():
            if state.status == "pending":
                state.status = "not_started"
            elif state.status == "running":
                state.status = "cancelled"
                state.finished_at = workflow.now().isoformat()

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

    def _should_run(
        self, step: FlowStep, graph: dict[str, set[str]], scope: dict[str, Any]
    ) -> bool:
        """Whether the step runs: its ``if`` (null is false), else whether no upstream was
        skipped.

        Raises:
            ExpressionError: the ``if`` failed; its path is ``("if",)``.
        """
        if step.if_ is None:
            return not any(self._states[u].status == "skipped" for u in graph[step.id])
        try:
            return truthy(evaluate(condition_source(step.if_), scope))
        except ExpressionError as exc:
            raise ExpressionError(exc.reason, ("if",)) from None

    async def _run_step(
        self,
        request: FlowRunInput,
        step: FlowStep,
        graph: dict[str, set[str]],
        scope: dict[str, Any],
    ) -> None:
        state = self._states[step.id]
        here = f"/steps/{self._index[step.id]}"
        try:
            run = self._should_run(step, graph, scope)
        except ExpressionError as exc:
            self._finish(
                step, scope, error=_evaluation_error(step, pointer(exc.path, here), exc.reason)
            )
            return
        if not run:
            state.status = "skipped"
            scope["steps"][step.id] = {"status": "skipped", "output": None, "error": None}
            return
        state.status = "running"
        state.started_at = workflow.now().isoformat()
        resolved = request.steps[step.uses]
        error: dict[str, Any] | None = None
        try:
            if step.foreach is not None:
                output, error = await self._run_foreach(request, step, resolved, scope, here)
            else:
                schema = resolved.manifest.get("input_schema") or {}
                payload = render_input(step.with_, scope, schema)
                result = await execute_step(request, step, resolved, payload, step.id, state)
                output = result.output
        except ExpressionError as exc:
            output, error = None, _evaluation_error(step, pointer(exc.path, here), exc.reason)
        except ActivityError as exc:
            output, error = None, error_of(exc)
        except asyncio.CancelledError:
            state.status = "cancelled"
            state.finished_at = workflow.now().isoformat()
            raise
        self._finish(step, scope, output=output, error=error)

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
        here: str,
    ) -> tuple[list[Any], dict[str, Any] | None]:
        """The foreach step's output (item outputs in order, null where an item failed) and
        its error (None when every item succeeded)."""
        state = self._states[step.id]
        source = condition_source(step.foreach or "")
        try:
            items = evaluate(source, scope)
        except ExpressionError as exc:
            raise ExpressionError(exc.reason, ("foreach",)) from None
        if not isinstance(items, list):
            reason = (
                missing_reason(source, scope)
                if items is None
                else f"foreach must give a list, not {json_type(items)}"
            )
            raise ExpressionError(reason, ("foreach",))
        state.items = len(items)
        schema = resolved.manifest.get("input_schema") or {}

        async def one(index: int) -> Any:
            item_scope = {**scope, "item": items[index], "index": index}
            execution_id = f"{step.id}[{index}]"
            try:
                payload = render_input(step.with_, item_scope, schema)
                result = await execute_step(
                    request, step, resolved, payload, execution_id, state, item=index
                )
            except ExpressionError as exc:  # includes an input too large to cross Temporal
                where = pointer(exc.path, here)
                error = _evaluation_error(step, where, f"item {index}: {exc.reason}")
                raise ItemFailed(error) from None
            except ActivityError as exc:
                raise ItemFailed(error_of(exc)) from None
            return result.output

        keep_going = step.on_error == "continue"
        outcomes = await run_items(len(items), step.concurrency, keep_going, one)
        return outcomes.outputs, step_error(outcomes, len(items))

    def _flow_output(self, definition: FlowDefinition, scope: dict[str, Any]) -> Any:
        if definition.output is not None:
            return render(definition.output, scope, ("output",))
        return {step_id: entry["output"] for step_id, entry in scope["steps"].items()}


def _parts(where: str) -> tuple[str | int, ...]:
    """The path of a JSON pointer into the run's output, from ``/output`` (RFC 6901 escapes)."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in where.split("/")[1:]]
    return ("output", *parts)
