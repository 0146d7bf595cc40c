"""Turning what the host observed about a finished container into a contract-3 outcome."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.errors import ErrorType
from sandbox.frame import FrameError, parse_frame
from sandbox.result import StepFailure

# SIGKILL as an exit status: what the kernel's OOM killer (or our own kill) leaves behind.
_KILLED = 137


@dataclass(frozen=True)
class Observation:
    """Facts gathered by the host: its clock, Docker's inspect and the capped streams."""

    result: bytes
    exit_code: int | None
    oom_killed: bool
    timed_out: bool
    result_over_cap: bool
    log_flooded: bool
    timeout_s: float
    memory_mb: int
    output_kb: int
    log_kb: int
    max_depth: int


def classify(seen: Observation) -> tuple[Any, StepFailure | None]:
    """Return ``(output, None)`` on success or ``(None, failure)``.

    Host-observed facts win over anything the container wrote: a timeout or an OOM kill is
    reported as such even if a result frame made it out first.
    """
    if seen.timed_out:
        return None, StepFailure(
            ErrorType.TIMEOUT, f"the step did not finish within {seen.timeout_s:g} s and was killed"
        )
    if seen.oom_killed:
        return None, StepFailure(
            ErrorType.MEMORY, f"the step exceeded its memory limit of {seen.memory_mb} MB"
        )
    if seen.result_over_cap:
        return None, StepFailure(
            ErrorType.OUTPUT_LIMIT, f"the result exceeds the output limit of {seen.output_kb} KB"
        )
    if seen.log_flooded:
        return None, StepFailure(
            ErrorType.OUTPUT_LIMIT,
            f"the step kept logging far past its log limit of {seen.log_kb} KB and was killed",
        )
    try:
        frame = parse_frame(seen.result, max_depth=seen.max_depth)
    except FrameError as exc:
        message = str(exc)
        if exc.error_type is ErrorType.STEP and seen.exit_code not in (None, 0):
            reason = " (killed)" if seen.exit_code == _KILLED else ""
            message = f"the step exited with code {seen.exit_code}{reason} without a result"
        return None, StepFailure(exc.error_type, message)
    if frame.ok:
        return frame.output, None
    return None, StepFailure(
        frame.error_type, frame.message, traceback=frame.traceback, exception=frame.exception
    )
