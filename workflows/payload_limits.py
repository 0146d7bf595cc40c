"""Keeping what a run hands to Temporal under its payload limit (deterministic, no I/O).

A value over Temporal's limit does not fail cleanly: the workflow task that tries to schedule
an activity with it, or to complete the run with it, fails and is retried for ever. So sizes are
checked first, and an oversized value becomes a contract error on the step or the run.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.types import MAX_PAYLOAD_BYTES
    from workflows.expressions import ExpressionError


class InputTooLarge(ExpressionError):
    """A step's rendered input (with its manifest) is over the payload limit; reported, like
    an expression that cannot be evaluated, as the step's ``InputValidationError``."""


def encoded_size(value: object) -> int:
    """Bytes ``value`` takes as a Temporal payload, encoded by the workflow's converter."""
    return workflow.payload_converter().to_payloads([value])[0].ByteSize()


def check_step_input(execution_id: str, request: object) -> None:
    """Raise :class:`InputTooLarge` if the activity input ``request`` cannot cross Temporal."""
    size = encoded_size(request)
    if size > MAX_PAYLOAD_BYTES:
        raise InputTooLarge(
            f"the input of {execution_id!r} is {size} bytes encoded (upstream outputs included); "
            f"the platform's limit is {MAX_PAYLOAD_BYTES} bytes: pass only what the step needs"
        )


def result_too_large(result: object) -> str | None:
    """Why the run's ``result`` cannot cross Temporal, or None when it fits."""
    size = encoded_size(result)
    if size <= MAX_PAYLOAD_BYTES:
        return None
    return (
        f"the run's result is {size} bytes encoded; the platform's limit is {MAX_PAYLOAD_BYTES} "
        "bytes: declare a smaller flow `output`"
    )
