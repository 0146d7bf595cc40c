"""Helpers for testing steps.

:func:`call` runs a step **in-process**: fast, for unit tests, and **not isolated** — the code runs
with your permissions, your network and your environment. To run it exactly as production does,
in a fresh hardened container, use ``sandbox.testing.run_sandboxed`` (it needs Docker and
``pip install stepwell``; the SDK itself never imports the sandbox).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from step_sdk.artifacts import for_execution
from step_sdk.decorator import Step


def artifacts_folder() -> Path:
    """Where steps called with :func:`call` in this process saved their artifacts."""
    return for_execution().folder


def call(
    step: Step[..., Any],
    payload: Mapping[str, Any],
    *,
    secrets: Mapping[str, str] | None = None,
    attempt: int = 1,
) -> Any:
    """Validate ``payload`` against the step's schema, call it in this process, return its output.

    Not isolated: use it for fast unit tests of your own code only. Artifacts the step saves
    go to ``$STEPWELL_ARTIFACTS_DIR`` or one temporary folder per process: :func:`artifacts_folder`.

    Raises:
        InputValidationError / OutputValidationError: the payload or result breaks a schema.
    """
    context = {"run_id": "test", "step_id": step.manifest.name, "attempt": attempt}
    return step.invoke(dict(payload), context, dict(secrets or {}))
