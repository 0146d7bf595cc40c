"""Running a step exactly as production does, from a test or a shell: a fresh hardened container.

The in-process counterpart, ``step_sdk.testing.call``, lives in the SDK; this one lives beside
the launcher because it needs Docker (the SDK never imports the sandbox).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import docker

from sandbox.base_images import base_builder
from sandbox.config import SandboxConfig
from sandbox.envelope import Envelope
from sandbox.launcher import Sandbox
from sandbox.result import StepResult
from step_sdk.bundle import read_bundle
from step_sdk.project import build_directory


def run_sandboxed(
    source: Path | str,
    payload: Any,
    *,
    secrets: Mapping[str, str] | None = None,
) -> StepResult:
    """Run a step directory or bundle file in the real sandbox and return the full result
    (status, output or contract-3 error, logs, duration). Builds its runtime's base image if
    missing.

    Raises:
        docker.errors.DockerException: no Docker engine answers.
        step_sdk.project.ProjectError / step_sdk.bundle.BundleError: the step cannot be built.
    """
    path = Path(source)
    bundle = build_directory(path) if path.is_dir() else read_bundle(path.read_bytes())
    client = docker.from_env(timeout=120)
    config = SandboxConfig()
    base_builder(client, config, bundle.manifest.runtime, log=lambda _m: None).ensure()
    sandbox = Sandbox(client, config)
    try:
        return sandbox.run(bundle, Envelope(input=payload, secrets=dict(secrets or {})))
    finally:
        sandbox.close()
