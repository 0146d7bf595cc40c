"""The activity contract between ``workflows/`` and ``activities/``: names and dataclasses only.

No side effects on import: the workflow imports this inside Temporal's workflow sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RUN_STEP = "run_step"

# Temporal refuses any single payload (an activity's input or result, a run's result) over 2 MiB
# by default. Stepwell keeps every value it hands to Temporal below MAX_PAYLOAD_BYTES, encoded,
# leaving room for the payload's own framing; a step's output limit (manifest ``output_kb``,
# at most step_sdk.manifest.MAX_OUTPUT_KB) is below that again, so its logs fit beside it.
TEMPORAL_PAYLOAD_LIMIT_BYTES = 2 * 1024 * 1024
MAX_PAYLOAD_BYTES = TEMPORAL_PAYLOAD_LIMIT_BYTES - 128 * 1024

# Error types that never succeed on retry (contract 3). StepError and StepTimeout follow the
# step's retry policy; SandboxError (infrastructure) is always retried.
NON_RETRYABLE = [
    "InputValidationError",
    "OutputValidationError",
    "MemoryLimitExceeded",
    "OutputLimitExceeded",
    "DependencyError",
    "ArtifactLimitExceeded",
]


@dataclass
class RunStepInput:
    """One execution of one step: which bundle, what input, within which limits."""

    run_id: str
    step_id: str
    ref: str
    digest: str
    manifest: dict[str, Any]
    input: Any
    timeout_s: float
    workspace_id: str = "local"
    # Attempts already spent by earlier activities of this execution (after an infrastructure
    # failure the workflow runs a new activity; the step's attempt numbers carry on).
    attempt_offset: int = 0


@dataclass
class RunStepOutput:
    """What a successful execution returns (also recorded in Temporal's history)."""

    output: Any
    logs: str = ""
    logs_truncated: bool = False
    duration_ms: int = 0
    image: str = ""
    attempt: int = 1
    extra: dict[str, Any] = field(default_factory=dict)
    # The execution's network connections (activities.connections: clean, at most 201, each
    # with its "attempt"); a failed execution carries them in its failure's details instead.
    connections: list[dict[str, Any]] = field(default_factory=list)
    # The files the execution saved, as references only (activities.artifacts): {"name",
    # "content_type", "size_bytes", "digest"}; a failure carries them in its details.
    artifacts: list[dict[str, Any]] = field(default_factory=list)
