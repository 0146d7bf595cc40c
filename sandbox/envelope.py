"""The stdin envelope of contract 2: what the host tells a step about one execution."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StepContext:
    """Identity of one execution, as the step sees it."""

    run_id: str = "local"
    step_id: str = "step"
    attempt: int = 1
    deadline: str = ""


@dataclass(frozen=True)
class Envelope:
    """Input, the secrets the step declared, and the execution's context."""

    input: Any
    secrets: dict[str, str] = field(default_factory=dict)
    context: StepContext = field(default_factory=StepContext)

    def encode(
        self, bundle: bytes | None = None, artifact_caps: dict[str, int] | None = None
    ) -> bytes:
        """JSON bytes as written to the container's stdin.

        ``bundle`` (the step's gzip'd tar bundle) travels base64-encoded in ``"bundle"``; the
        runner unpacks it into its tmpfs. Without it the envelope is what the input limit counts.
        """
        document: dict[str, object] = {
            "input": self.input,
            "secrets": self.secrets,
            "context": {
                "run_id": self.context.run_id,
                "step_id": self.context.step_id,
                "attempt": self.context.attempt,
                "deadline": self.context.deadline,
                # {max_count, max_bytes, total_bytes}: the SDK refuses a save over them early
                **({"artifacts": artifact_caps} if artifact_caps else {}),
            },
        }
        if bundle is not None:
            document["bundle"] = base64.b64encode(bundle).decode("ascii")
        return json.dumps(document, allow_nan=False, separators=(",", ":")).encode()
