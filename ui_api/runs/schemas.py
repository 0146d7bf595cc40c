"""Request and response bodies of ``/v1/runs``.

What is read back from Temporal is built into :class:`~ui_api.encodable.EncodableModel`s, so a
stored value JSON cannot carry (a lone surrogate, ``NaN``) is escaped, never a 500.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from ui_api.encodable import EncodableModel


class RunStatus(StrEnum):
    """A run's status (Temporal's execution status, in Stepwell's words)."""

    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
    terminated = "terminated"
    timed_out = "timed_out"


class RunTrigger(StrEnum):
    """How a run started."""

    manual = "manual"
    webhook = "webhook"
    schedule = "schedule"
    rerun = "rerun"


class StartRun(BaseModel):
    """What to run: a flow (its latest version unless one is named) with a trigger payload."""

    flow_id: str = Field(min_length=1, max_length=40, description="the flow to run")
    version: int | None = Field(
        None, ge=1, le=2**31 - 1, description="a saved version of the flow; default: the latest"
    )
    input: Any = Field(
        None, description="the trigger payload: `{{ trigger... }}` expressions read it"
    )


class RunLinks(EncodableModel):
    self: str = Field(description="this run in the API")
    events: str = Field(description="its live progress and logs (Server-Sent Events)")
    temporal_ui: str = Field(description="the run's workflow in the Temporal web UI")


class RunStarted(EncodableModel):
    """A run that was started (or, for a repeated idempotency key, the one started before)."""

    run_id: str
    status: RunStatus
    links: RunLinks


class CancelRequested(EncodableModel):
    """The cancellation was requested; the run ends as `cancelled` once its steps stop."""

    run_id: str
    status: RunStatus = Field(description="still `running` until the cancellation completes")
    links: RunLinks


class RunSummary(EncodableModel):
    """A run as listed."""

    run_id: str
    flow_id: str | None
    flow_version: int | None
    trigger: str | None = Field(description="how it started: manual, webhook, schedule, rerun")
    status: RunStatus
    started_at: datetime | None
    closed_at: datetime | None
    links: RunLinks


class RunPage(EncodableModel):
    """One page of runs, newest first."""

    items: list[RunSummary]
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null on the last page"
    )


class StepError(EncodableModel):
    type: str = Field(description="a contract-3 error type, e.g. StepError, StepTimeout")
    message: str
    traceback: str = Field("", description="the step's own traceback, for StepError")
    pointer: str | None = Field(
        None, description="InputValidationError of an expression: the JSON pointer of the field"
    )
    items: list[dict[str, Any]] | None = Field(
        None,
        description="foreach steps: every failed item, as {index, type, message}",
    )


class Connection(EncodableModel):
    """One network connection attempt of a step execution, as the egress proxy recorded it."""

    host: str = Field(
        description="the host the step asked for (`*`: a summary of records left out)"
    )
    port: int = Field(description="the port it asked for (0 when unknown)")
    address: str | None = Field(description="the address the proxy connected to, or null")
    method: str = Field(description="`CONNECT` (a tunnel, e.g. HTTPS) or the HTTP method")
    allowed: bool = Field(description="whether the proxy let it through")
    reason: str = Field(
        description="why it was refused or cut short (a cap, a timeout); empty when allowed "
        "and ended normally"
    )
    bytes_out: int = Field(description="bytes from the step to the remote host")
    bytes_in: int = Field(description="bytes from the remote host to the step")
    started_at: str = Field(description="when it started (ISO 8601, UTC)")
    duration_ms: int = Field(description="how long it lasted")
    attempt: int = Field(description="the step attempt that made it (0 when unknown)")
    item: int | None = Field(None, description="foreach steps: the item's index")


class StepExecution(EncodableModel):
    """One execution of a step, as a timeline shows it: the step itself, or one foreach item.

    Retries within an execution are its attempts: Temporal records when the last one started,
    so the time from `scheduled_at` to `started_at` holds the wait for a container and any
    earlier attempts. An execution run again after an infrastructure failure is a new entry.
    """

    execution_id: str = Field(description="the step id, or `<step id>[<index>]` for an item")
    item: int | None = Field(description="foreach steps: the item's index")
    attempt: int = Field(description="its latest attempt (0 while none has started)")
    status: str = Field(
        description="scheduled | running | succeeded | failed | timed_out | cancelled"
    )
    scheduled_at: datetime = Field(description="when the run asked for it")
    started_at: datetime | None = Field(description="when its latest attempt started")
    finished_at: datetime | None = Field(description="when it ended, whichever way")
    duration_ms: int | None = Field(
        description="time spent in the step's container, as a successful execution reported it"
    )
    error_type: str | None = Field(description="a failed execution's error type")
    worker: str | None = Field(
        description="the owner id of the worker that ran (or runs) its latest attempt, e.g. "
        "`host/pid/random`: its Temporal identity and `stepwell.owner` container label; "
        "null before an attempt started. Earlier attempts of the same entry may have run on "
        "other workers (Temporal keeps only the latest's)",
    )


class ArtifactInfo(EncodableModel):
    """A file a step execution saved (step_sdk.artifacts), downloadable at ``url``."""

    name: str = Field(description="its file name (at most 255 bytes of UTF-8, no '/')")
    content_type: str = Field(description="a media type; application/octet-stream if unknown")
    size_bytes: int
    digest: str = Field(description="sha256:<hex> of its bytes")
    url: str = Field(description="where to download it (with the same API key)")
    execution_id: str = Field(description="the execution that saved it: the step id or `id[i]`")
    attempt: int = Field(description="the attempt that saved it (each execution's latest)")


class StepRun(EncodableModel):
    """What is known of one step of the run."""

    status: str = Field(
        description="pending | running | succeeded | failed | skipped; in an ended run, "
        "not_started (never reached) or cancelled (stopped while running)"
    )
    attempts: int = Field(description="attempts made so far (retries included)")
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None = Field(
        description="time spent in the step's containers (all foreach items); for a step "
        "without that figure, the wall time from start to finish"
    )
    input: Any = Field(
        None,
        description="the input the step ran with, its expressions rendered (a list by item for "
        "foreach steps); null until it is scheduled",
    )
    output: Any = Field(description="the step's output (a list for foreach steps)")
    error: StepError | None
    logs: str = Field(description="the step's log; while it runs, the latest tail")
    items: int | None = Field(None, description="foreach steps: how many items")
    infra_retries: int = Field(
        0,
        description="times an execution was run again after an infrastructure failure "
        "(SandboxError); these do not spend the step's own attempts",
    )
    infra_error: dict[str, Any] | None = Field(
        None, description="the last infrastructure failure: {type, message, at}"
    )
    connections: list[Connection] = Field(
        default_factory=list,
        description="network connections of the step's executions (every attempt the run "
        "history holds, every foreach item), in order; empty for a step without egress",
    )
    connections_not_recorded: int = Field(
        0,
        description="connections left out of `connections` (a step keeps at most 200, and "
        "256 KiB of JSON)",
    )
    executions: list[StepExecution] = Field(
        default_factory=list,
        description="its executions in the order they were scheduled, with their times, for "
        "a timeline",
    )
    artifacts: list[ArtifactInfo] = Field(
        default_factory=list,
        description="files its executions saved (each execution's latest attempt that saved "
        "any), by execution then name",
    )


class RunError(EncodableModel):
    type: str = Field(description="FlowFailed, Cancelled, Terminated or RunTimeout")
    message: str
    step_id: str | None = Field(None, description="the step whose failure failed the run")


class RunDetail(EncodableModel):
    """A run read back from Temporal: status, input, output, error and every step."""

    run_id: str
    flow_id: str | None
    flow_version: int | None
    trigger: str | None = Field(description="how it started: manual, webhook, schedule, rerun")
    status: RunStatus
    input: Any = Field(description="the trigger payload the run started with")
    started_at: datetime | None
    closed_at: datetime | None
    output: Any = Field(description="the flow's output, once it succeeded")
    error: RunError | None
    steps: dict[str, StepRun] = Field(description="by step id, in the definition's order")
    links: RunLinks
