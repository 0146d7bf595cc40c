"""Running a bundle in the local sandbox for the CLI, with progress while layers build."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from docker import DockerClient
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from activities.connections import annotated
from sandbox.base_images import base_builder
from sandbox.envelope import Envelope, StepContext
from sandbox.errors import ErrorType, StepwellError
from sandbox.launcher import Sandbox
from sandbox.result import StepFailure, StepResult
from step_sdk.artifacts import name_problem
from step_sdk.bundle import Bundle
from step_sdk.validation import schema_problems
from stepwell.cli import connections
from stepwell.cli.docker_client import connect
from stepwell.cli.output import err, fail, out
from stepwell_settings import Settings


def checked_output(bundle: Bundle, result: StepResult) -> StepResult:
    """``result``, or an OutputValidationError when its output breaks the manifest's output
    schema: the check a flow's activity makes on the host, so that ``step run`` and
    ``step test`` accept exactly what a flow would (for every runtime: a JavaScript step has no
    in-container type check, unlike a Python one)."""
    if result.error is not None:
        return result
    problems = schema_problems(bundle.manifest.output_schema or {}, result.output)
    if not problems:
        return result
    message = "output does not match the step's schema: " + "; ".join(map(str, problems))
    return replace(result, output=None, error=StepFailure(ErrorType.OUTPUT_VALIDATION, message))


class LocalRunner:
    """One sandbox for the command's lifetime (so repeated runs reuse its caches and its egress
    proxy); use it as a context manager so the proxy stops with the command."""

    def __init__(self, *, quiet: bool) -> None:
        self._quiet = quiet
        self._console: Console = err
        self._engine: tuple[DockerClient, Sandbox] | None = None
        self._ready_runtimes: set[str] = set()

    def __enter__(self) -> LocalRunner:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the egress proxy, if a step with egress started one."""
        if self._engine is not None:
            self._engine[1].close()

    def _ready(self, runtime: str) -> Sandbox:
        """The sandbox, with ``runtime``'s base image built if it is missing (first time only;
        a JavaScript step needs only the node20 image, a Python step only the Python one)."""
        settings = Settings()
        if self._engine is None:
            # A command runs a few executions and exits: a warm pool would be filled to be drained.
            config = replace(settings.sandbox_config(), pool_size=0)
            client = connect()
            self._engine = (client, Sandbox(client, config))
        client, sandbox = self._engine
        if runtime not in self._ready_runtimes:
            builder = base_builder(client, sandbox.config, runtime, log=self._say)
            if builder.find() is None:
                with self._console.status(f"building the {runtime} image (first time only)"):
                    builder.ensure(source=settings.base_image_source)
            self._ready_runtimes.add(runtime)
        return sandbox

    def _say(self, message: str) -> None:
        if not self._quiet:
            self._console.print(f"[dim]{message}[/dim]")

    def run(self, bundle: Bundle, payload: Any, secrets: Mapping[str, str]) -> StepResult:
        sandbox = self._ready(bundle.manifest.runtime)
        envelope = Envelope(
            input=payload,
            secrets=dict(secrets),
            context=StepContext(run_id="local", step_id=bundle.manifest.name),
        )
        try:
            with self._console.status(f"preparing {bundle.manifest.ref}") as status:
                sandbox.images.for_bundle(bundle, progress=status.update)
            result = sandbox.run(bundle, envelope)
        except StepwellError as exc:
            fail(f"{exc.error_type}: {exc.message}", code=1)
        return checked_output(bundle, result)

    @staticmethod
    def as_document(
        result: StepResult, saved: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """The ``--json`` shape of a result (``saved``: what :func:`save_artifacts` wrote)."""
        error = result.error
        return {
            "status": "succeeded" if result.ok else "failed",
            "output": result.output,
            "error": None
            if error is None
            else {"type": str(error.type), "message": error.message, "traceback": error.traceback},
            "logs": result.logs,
            "duration_ms": result.duration_ms,
            "connections": annotated(result.connections, attempt=1),
            "artifacts": saved or [],
        }

    def show(self, result: StepResult) -> None:
        """Human output: logs, the network connections, then the output or the error, then
        the duration."""
        if result.logs:
            out.print(Panel(escape(result.logs.rstrip("\n")), title="logs", title_align="left"))
        connections.show([("", record) for record in annotated(result.connections, attempt=1)])
        if result.error is None:
            out.print(json.dumps(result.output, indent=2, ensure_ascii=False), markup=False,
                      highlight=False, soft_wrap=True)  # fmt: skip
            out.print(f"[green]succeeded[/green] in {result.duration_ms} ms")
        else:
            if result.error.traceback:
                out.print(result.error.traceback.rstrip(), markup=False)
            out.print(
                f"[red]{result.error.type}[/red]: {escape(result.error.message)}", soft_wrap=True
            )
            out.print(f"failed after {result.duration_ms} ms")


def save_artifacts(result: StepResult, folder: Path) -> list[dict[str, Any]]:
    """Write the execution's artifacts into ``folder`` (made if missing); what was written:
    ``{"name", "content_type", "size_bytes", "path"}`` each.

    The names were checked by the host (sandbox.artifacts) and are checked again here before
    they become paths; a file is opened without following a link already at that name.

    Raises:
        OSError: the folder or a file cannot be written.
    """
    written: list[dict[str, Any]] = []
    if not result.artifacts:
        return written
    folder.mkdir(parents=True, exist_ok=True)
    for artifact in result.artifacts:
        if name_problem(artifact.name) is not None:
            continue
        path = folder / artifact.name
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
        with os.fdopen(os.open(path, flags, 0o644), "wb") as handle:
            handle.write(artifact.data)
        written.append({"name": artifact.name, "content_type": artifact.content_type,
                        "size_bytes": len(artifact.data), "path": str(path)})  # fmt: skip
    return written
