"""Input, output and progress of a ``FlowRun`` (one dataclass in, one out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FLOW_RUN = "FlowRun"
PROGRESS_QUERY = "progress"


@dataclass
class ResolvedStep:
    """A step version frozen into the run: its bundle digest and its manifest (as JSON)."""

    digest: str
    manifest: dict[str, Any]


@dataclass
class FlowRunInput:
    """Everything a run needs, frozen at start, so it never changes when the registry does."""

    definition: dict[str, Any]
    steps: dict[str, ResolvedStep]
    trigger: Any = None
    workspace_id: str = "local"
    flow_id: str = ""
    flow_version: int = 0
    heartbeat_timeout_s: float = 20.0
    # How long one step execution may keep meeting infrastructure failures (SandboxError) before
    # it fails; the run's own timeout, when set, bounds it too.
    infra_retry_budget_s: float = 3600.0


@dataclass
class StepState:
    """What is known of one flow step, live (query) and at the end (result)."""

    # pending | running | succeeded | failed | skipped; when the run has ended, a step it never
    # started is not_started and one it stopped is cancelled
    status: str = "pending"
    attempts: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    duration_ms: int = 0
    output: Any = None
    error: dict[str, Any] | None = None
    logs: str = ""
    items: int | None = None  # foreach: how many items
    infra_retries: int = 0  # executions run again after an infrastructure failure
    infra_error: dict[str, Any] | None = None  # the last one: {"type", "message", "at"}
    # Network connections of every execution (attempts, foreach items), as the egress proxy
    # recorded them, each with its "attempt" (and "item"); at most MAX_STEP_RECORDS, the rest
    # counted in connections_not_recorded (activities.connections).
    connections: list[dict[str, Any]] = field(default_factory=list)
    connections_not_recorded: int = 0


@dataclass
class FlowRunOutput:
    """The flow's output and the final state of each step.

    ``steps`` hold no ``output`` and no ``connections``: each step output and connection
    record is in the run's history once, in its activity's result or failure (the API and
    ``stepwell run show`` read them there). The whole result is kept under Temporal's payload
    limit or the run fails with ``OutputLimitExceeded``.
    """

    status: str
    output: Any
    steps: dict[str, StepState] = field(default_factory=dict)
