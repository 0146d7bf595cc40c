"""Helpers for testing steps.

:func:`call` runs a step **in-process**: fast, for unit tests, and **not isolated** — the code runs
with your permissions, your network and your environment. :func:`run_sandboxed` runs it exactly as
production does, in a fresh hardened container (it needs Docker and ``pip install stepwell``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from step_sdk.decorator import Step

if TYPE_CHECKING:
    from sandbox.result import StepResult


def call(
    step: Step[..., Any],
    payload: Mapping[str, Any],
    *,
    secrets: Mapping[str, str] | None = None,
    attempt: int = 1,
) -> Any:
    """Validate ``payload`` against the step's schema, call it in this process, return its output.

    Not isolated: use it for fast unit tests of your own code only.

    Raises:
        InputValidationError / OutputValidationError: the payload or result breaks a schema.
    """
    context = {"run_id": "test", "step_id": step.manifest.name, "attempt": attempt}
    return step.invoke(dict(payload), context, dict(secrets or {}))


def run_sandboxed(
    source: Path | str,
    payload: Any,
    *,
    secrets: Mapping[str, str] | None = None,
) -> StepResult:
    """Run a step directory or bundle file in the real sandbox and return the full result."""
    import docker

    from sandbox.config import SandboxConfig
    from sandbox.envelope import Envelope
    from sandbox.images import ImageBuilder
    from sandbox.launcher import Sandbox
    from step_sdk.bundle import read_bundle
    from step_sdk.project import build_directory

    path = Path(source)
    bundle = build_directory(path) if path.is_dir() else read_bundle(path.read_bytes())
    client = docker.from_env(timeout=120)
    config = SandboxConfig()
    ImageBuilder(client, config, log=lambda _m: None).ensure()
    return Sandbox(client, config).run(bundle, Envelope(input=payload, secrets=dict(secrets or {})))
