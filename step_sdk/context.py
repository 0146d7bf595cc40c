"""What a step may know about the execution it runs in."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from step_sdk.artifacts import Artifacts, for_execution


def _step_logger(step_id: str) -> logging.Logger:
    logger = logging.getLogger(f"stepwell.step.{step_id}")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


@dataclass(frozen=True)
class StepContext:
    """Identity of one execution and the secrets the step declared.

    Take it by annotating a parameter with it; it is never part of the input schema::

        @step(secrets=["API_TOKEN"])
        def fetch(url: str, ctx: StepContext) -> str:
            ctx.logger.info("attempt %s", ctx.attempt)
            return ctx.secrets["API_TOKEN"][:4]
    """

    run_id: str = "local"
    step_id: str = "step"
    attempt: int = 1
    deadline: str = ""
    secrets: Mapping[str, str] = field(default_factory=dict)
    # Files saved for the run (step_sdk.artifacts): ctx.artifacts.save(name, data, content_type)
    artifacts: Artifacts = field(default_factory=for_execution)

    @property
    def logger(self) -> logging.Logger:
        """A logger writing to the step's log (stderr)."""
        return _step_logger(self.step_id)

    @classmethod
    def from_envelope(
        cls, context: Mapping[str, Any], secrets: Mapping[str, str], declared: tuple[str, ...]
    ) -> StepContext:
        """Build the context from the runner's envelope, keeping only declared secrets."""
        return cls(
            run_id=str(context.get("run_id", "local")),
            step_id=str(context.get("step_id", "step")),
            attempt=int(context.get("attempt", 1)),
            deadline=str(context.get("deadline", "")),
            secrets={k: v for k, v in secrets.items() if k in declared},
            artifacts=for_execution(**_caps(context.get("artifacts"))),
        )


def _caps(given: object) -> dict[str, int]:
    """The envelope's artifact caps (``max_count``, ``max_bytes``, ``total_bytes``), if any."""
    if not isinstance(given, Mapping):
        return {}
    names = ("max_count", "max_bytes", "total_bytes")
    return {n: given[n] for n in names if isinstance(given.get(n), int)}
