"""The dependency graph of a flow: edges from references and ``needs``; cycles; order."""

from __future__ import annotations

from typing import Any

from workflows.definition import FlowDefinition, FlowStep
from workflows.expressions import (
    ExpressionError,
    condition_source,
    expressions_in,
    referenced_steps,
    walk_strings,
)


def step_expressions(step: FlowStep) -> list[tuple[tuple[str | int, ...], str]]:
    """``(path, source)`` of every expression of a step (paths relative to the step object)."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    for path, text in walk_strings(step.with_, ("with",)):
        found.extend((path, source) for source in expressions_in(text))
    for field, condition in (("if", step.if_), ("foreach", step.foreach)):
        if condition is not None:
            found.append(((field,), condition_source(condition)))
    return found


def upstream(step: FlowStep) -> set[str]:
    """Ids the step depends on: its ``needs`` and every step its expressions read."""
    ids = set(step.needs)
    for _, source in step_expressions(step):
        try:
            ids |= referenced_steps(source)
        except ExpressionError:
            continue  # reported by validation; a broken expression adds no edge
    return ids


def dependencies(definition: FlowDefinition) -> dict[str, set[str]]:
    """Step id -> ids of known steps it depends on."""
    known = {step.id for step in definition.steps}
    return {step.id: upstream(step) & known for step in definition.steps}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a list of ids (first id repeated at the end), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for parent in sorted(graph.get(node, ())):
            if state.get(parent) == 1:
                return [*stack[stack.index(parent) :], parent]
            if parent not in state and (cycle := visit(parent)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def output_references(output: Any) -> set[str]:
    ids: set[str] = set()
    for _, text in walk_strings(output):
        for source in expressions_in(text):
            try:
                ids |= referenced_steps(source)
            except ExpressionError:
                continue
    return ids
