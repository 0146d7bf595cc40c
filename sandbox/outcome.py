"""Turning what the host observed about a finished container into a contract-3 outcome."""

from __future__ import annotations

import json
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
            ErrorType.MEMORY, f"the step exceeded its memory limit of {seen.memory_mb} MiB"
        )
    if seen.result_over_cap:
        return None, _over_limit(seen.output_kb)
    if seen.log_flooded:
        return None, StepFailure(
            ErrorType.OUTPUT_LIMIT,
            f"the step kept logging far past its log limit of {seen.log_kb} KiB and was killed",
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
        # The stream's cap leaves room for the frame's own framing and an error's traceback;
        # the output itself gets exactly its limit (JSON as the runner wrote it, compact).
        encoded = json.dumps(frame.output, separators=(",", ":"), ensure_ascii=False)
        if len(encoded.encode("utf-8", "surrogatepass")) > seen.output_kb * 1024:
            return None, _over_limit(seen.output_kb)
        return frame.output, None
    return None, StepFailure(
        frame.error_type, frame.message, traceback=frame.traceback, exception=frame.exception
    )


def _over_limit(output_kb: int) -> StepFailure:
    return StepFailure(
        ErrorType.OUTPUT_LIMIT,
        f"the output exceeds the step's output limit of {output_kb} KiB ({output_kb * 1024} "
        "bytes of JSON)",
    )
