"""Static validation of a flow definition: every problem, with its JSON pointer, nothing run."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from step_sdk.errors import Problem
from step_sdk.manifest import Manifest
from step_sdk.validation import pointer, schema_problems
from workflows.catalog import StepCatalog
from workflows.definition import FlowDefinition, FlowStep
from workflows.expressions import (
    ExpressionError,
    compile_expression,
    expressions_in,
    has_expression,
    referenced_steps,
    walk_strings,
)
from workflows.graph import dependencies, find_cycle, step_expressions


def _structure(document: Any) -> tuple[FlowDefinition | None, list[Problem]]:
    try:
        return FlowDefinition.model_validate(document), []
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            problems.append(Problem(pointer(list(error["loc"])), message))
        return None, problems


def validate_flow(
    document: Any, catalog: StepCatalog, *, max_run_timeout_s: float | None = None
) -> list[Problem]:
    """Every problem of a flow definition; an empty list means it may be saved and run.

    ``max_run_timeout_s`` is the operator's longest run (``STEPWELL_RUN_TIMEOUT_MAX_S``); a
    ``timeout_s`` above it is a problem. None: no maximum is checked.
    """
    definition, problems = _structure(document)
    if definition is None:
        return problems
    problems += _run_timeout(definition, max_run_timeout_s)
    ids = [step.id for step in definition.steps]
    for index, step in enumerate(definition.steps):
        here = f"/steps/{index}"
        if ids.index(step.id) != index:
            problems.append(Problem(f"{here}/id", f"duplicate step id {step.id!r}"))
        manifest = _lookup(step, catalog, here, problems)
        problems += _references(step, set(ids), here)
        if manifest is not None:
            problems += _limits(step, manifest, here)
            problems += _literal_inputs(step, manifest, here)
    problems += _output(definition, set(ids))
    cycle = find_cycle(dependencies(definition))
    if cycle:
        at = ids.index(cycle[0])
        problems.append(
            Problem(f"/steps/{at}", "steps depend on each other in a cycle: " + " -> ".join(cycle))
        )
    return problems


def _lookup(
    step: FlowStep, catalog: StepCatalog, here: str, problems: list[Problem]
) -> Manifest | None:
    manifest = catalog.get(step.step_name, step.step_version)
    if manifest is None:
        known = catalog.versions(step.step_name)
        if known:
            message = (
                f"{step.step_name} has no version {step.step_version} (known: {', '.join(known)})"
            )
        else:
            message = f"unknown step {step.step_name!r}"
        problems.append(Problem(f"{here}/uses", message))
    return manifest


def _references(step: FlowStep, ids: set[str], here: str) -> list[Problem]:
    problems = []
    for index, need in enumerate(step.needs):
        if need not in ids:
            problems.append(Problem(f"{here}/needs/{index}", f"no step has the id {need!r}"))
        elif need == step.id:
            problems.append(Problem(f"{here}/needs/{index}", "a step cannot need itself"))
    for path, source in step_expressions(step):
        where = pointer(list(path), here)
        try:
            compile_expression(source)
            referenced = referenced_steps(source)
        except ExpressionError as exc:
            problems.append(Problem(where, str(exc)))
            continue
        for target in sorted(referenced):
            if target == step.id:
                problems.append(Problem(where, f"the step reads its own output ({source!r})"))
            elif target not in ids:
                problems.append(
                    Problem(where, f"{source!r} reads steps.{target}, which is not in the flow")
                )
    return problems


def _run_timeout(definition: FlowDefinition, maximum_s: float | None) -> list[Problem]:
    if maximum_s is None:
        return []
    if definition.timeout_s is not None and definition.timeout_s > maximum_s:
        return [
            Problem(
                "/timeout_s",
                f"{definition.timeout_s:g} s is above this server's longest run of "
                f"{maximum_s:g} s (STEPWELL_RUN_TIMEOUT_MAX_S)",
            )
        ]
    return []


def _limits(step: FlowStep, manifest: Manifest, here: str) -> list[Problem]:
    problems = []
    if step.timeout_s is not None and step.timeout_s > manifest.limits.timeout_s:
        problems.append(
            Problem(
                f"{here}/timeout_s",
                f"{step.timeout_s:g} s is above {manifest.ref}'s limit of "
                f"{manifest.limits.timeout_s:g} s",
            )
        )
    attempts = step.retry.max_attempts if step.retry is not None else None
    if attempts is not None and attempts > manifest.retry.max_attempts:
        problems.append(
            Problem(
                f"{here}/retry/max_attempts",
                f"{attempts} is above {manifest.ref}'s limit of "
                f"{manifest.retry.max_attempts} attempts",
            )
        )
    return problems


def _literal_inputs(step: FlowStep, manifest: Manifest, here: str) -> list[Problem]:
    """Check the inputs that are plain literals against the step's input schema."""
    schema = manifest.input_schema
    properties: dict[str, Any] = schema.get("properties") or {}
    problems = []
    for key, value in step.with_.items():
        where = f"{here}/with/{pointer([key])[1:]}"
        if key not in properties:
            if schema.get("additionalProperties") is False:
                problems.append(Problem(where, f"{manifest.ref} has no input {key!r}"))
            continue
        if has_expression(value):
            continue
        sub_schema = {**properties[key]}
        if "$defs" in schema:
            sub_schema["$defs"] = schema["$defs"]
        problems += schema_problems(sub_schema, value, prefix=where)
    for required in schema.get("required") or []:
        if required not in step.with_:
            problems.append(
                Problem(f"{here}/with", f"missing required input {required!r} of {manifest.ref}")
            )
    return problems


def _output(definition: FlowDefinition, ids: set[str]) -> list[Problem]:
    problems = []
    for path, text in walk_strings(definition.output or {}, ("output",)):
        for source in expressions_in(text):
            where = pointer(list(path))
            try:
                referenced = referenced_steps(source)
            except ExpressionError as exc:
                problems.append(Problem(where, str(exc)))
                continue
            for target in sorted(referenced - ids):
                problems.append(
                    Problem(where, f"{source!r} reads steps.{target}, which is not in the flow")
                )
    return problems
