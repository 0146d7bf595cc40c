"""What one sandboxed execution produced, as the host observed it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.artifacts import Artifact
from sandbox.errors import ErrorType


@dataclass(frozen=True)
class StepFailure:
    """A contract-3 error: ``type``, a one-line ``message`` and the step's own traceback."""

    type: ErrorType
    message: str
    traceback: str = ""
    exception: str = ""

    @property
    def retryable(self) -> bool:
        return self.type.retryable


@dataclass(frozen=True)
class StepResult:
    """Outcome of one execution. Exactly one of ``output``/``error`` is meaningful.

    ``exit_code``, ``oom_killed``, ``timed_out`` and ``duration_ms`` come from Docker's inspect
    and the host's clock, never from the container.
    """

    output: Any = None
    error: StepFailure | None = None
    logs: str = ""
    logs_truncated: bool = False
    result_truncated: bool = False
    exit_code: int | None = None
    oom_killed: bool = False
    timed_out: bool = False
    duration_ms: int = 0
    image: str = ""
    container_id: str = ""
    stats: dict[str, int] = field(default_factory=dict)
    # The execution's network connections as the egress proxy recorded them (docs/egress.md):
    # {"host", "port", "address", "method", "allowed", "reason", "bytes_out", "bytes_in",
    #  "started_at", "duration_ms"}; empty for a step without egress.
    connections: list[dict[str, Any]] = field(default_factory=list)
    # What the step saved (sandbox.artifacts), kept whether it succeeded or failed (a
    # screenshot of a failure is what one wants most); empty when the channel broke a rule.
    artifacts: list[Artifact] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None
