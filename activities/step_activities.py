"""The ``run_step`` activity: validate, run in the sandbox with heartbeats, validate, report.

Every failure leaves as an ``ApplicationError`` whose ``type`` is a contract-3 error type and whose
retryability follows the table in ARCHITECTURE.md (and the step's ``non_retryable`` list).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.artifacts import ArtifactRecorder
from activities.bundles import BundleCache, BundleNotFound, BundleStoreError
from activities.connections import annotated, bounded, carried, summary
from activities.secrets import NoSecrets, SecretProvider
from activities.types import MAX_PAYLOAD_BYTES, RUN_STEP, RunStepInput, RunStepOutput
from sandbox.envelope import Envelope, StepContext
from sandbox.errors import DependencyError, ErrorType, StepwellError
from sandbox.launcher import Sandbox, StepCancelled
from sandbox.log_tail import LiveTail
from sandbox.redaction import Redactor
from sandbox.result import StepResult
from step_sdk.bundle import BundleError
from step_sdk.json_values import describe, json_value_problems
from step_sdk.manifest import Limits
from step_sdk.validation import schema_problems

log = logging.getLogger("stepwell.worker")
LOG_TAIL_CHARS = 2048
MAX_LOG_CHARS = 64 * 1024
CONNECTIONS_TAIL = 20  # records kept when a reply over the payload limit must shed them
MISSING_BUNDLE_HINT = (
    "the worker's bundle store is not the API's: its STEPWELL_DATABASE_URL and "
    "STEPWELL_BUNDLE_STORE (and STEPWELL_S3_BUCKET, STEPWELL_S3_PREFIX) must be the API's"
)


def _failure(
    error_type: ErrorType | str,
    message: str,
    *,
    non_retryable: bool,
    traceback: str = "",
    logs: str = "",
    attempt: int = 1,
    connections: list[dict[str, Any]] | None = None,
    artifacts: list[dict[str, Any]] | None = None,
) -> ApplicationError:
    details = {"type": str(error_type), "message": message, "traceback": traceback,
               "logs": logs[-MAX_LOG_CHARS:], "attempt": attempt,
               "connections": connections or [], "artifacts": artifacts or []}  # fmt: skip
    return ApplicationError(message, details, type=str(error_type), non_retryable=non_retryable)


def encoded_size(value: object) -> int:
    """Bytes ``value`` takes as a Temporal payload, encoded by the activity's converter."""
    return activity.payload_converter().to_payloads([value])[0].ByteSize()


class StepActivities:
    """Activities with their collaborators injected (sandbox, bundle cache, secret provider)."""

    def __init__(
        self,
        sandbox: Sandbox,
        bundles: BundleCache,
        secrets: SecretProvider | None = None,
        *,
        artifacts: ArtifactRecorder | None = None,
        max_concurrent: int = 4,
        heartbeat_every_s: float = 2.0,
    ) -> None:
        self._sandbox = sandbox
        self._bundles = bundles
        self._secrets = secrets or NoSecrets()
        self._artifacts = artifacts
        self._executor = ThreadPoolExecutor(max_concurrent, thread_name_prefix="stepwell-step")
        self._heartbeat_every_s = heartbeat_every_s
        # Step executions that ended (succeeded or failed) and that were cancelled (a worker's
        # shutdown hands those back to Temporal), since the start: the shutdown log reports them.
        self.finished = 0
        self.cancelled = 0

    @activity.defn(name=RUN_STEP)
    async def run_step(self, request: RunStepInput) -> RunStepOutput:
        """Run one step execution in a fresh container."""
        try:
            reply = await self._run_step(request)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        except BaseException:
            self.finished += 1
            raise
        self.finished += 1
        return reply

    async def _run_step(self, request: RunStepInput) -> RunStepOutput:
        info = activity.info()
        attempt = info.attempt + request.attempt_offset
        manifest = request.manifest
        if unjsonable := json_value_problems(request.input):
            message = "the input cannot be carried as JSON: " + describe(unjsonable)
            raise _failure(ErrorType.INPUT_VALIDATION, message, non_retryable=True, attempt=attempt)
        problems = schema_problems(manifest.get("input_schema") or {}, request.input)
        if problems:
            message = "input does not match the step's schema: " + "; ".join(map(str, problems))
            raise _failure(ErrorType.INPUT_VALIDATION, message, non_retryable=True, attempt=attempt)
        secrets = self._secrets.resolve(request.workspace_id, manifest.get("secrets") or [])
        # The sandbox has redacted the secrets from everything the step sent back.
        result = await self._run_in_sandbox(request, secrets, attempt)
        references, note = await self._record_artifacts(request, result, attempt)
        logs = note + result.logs
        # Temporal retries a failed attempt itself and keeps only the last attempt's outcome:
        # every attempt passes its records (and those it was handed) on to the next.
        earlier = carried(info.heartbeat_details)
        connections = bounded([*earlier, *annotated(result.connections, attempt=attempt)])
        if result.error is not None:
            if connections:
                activity.heartbeat({"log_tail": logs[-LOG_TAIL_CHARS:], "connections": connections})
            non_retryable = not result.error.retryable or (
                result.error.exception in (manifest.get("retry") or {}).get("non_retryable", [])
            )
            raise _failure(
                result.error.type,
                result.error.message,
                non_retryable=non_retryable,
                traceback=result.error.traceback,
                logs=logs,
                attempt=attempt,
                connections=connections,
                artifacts=references,
            )
        output = result.output
        problems = schema_problems(manifest.get("output_schema") or {}, output)
        if problems:
            message = "output does not match the step's schema: " + "; ".join(map(str, problems))
            raise _failure(
                ErrorType.OUTPUT_VALIDATION, message, non_retryable=True, logs=logs,
                attempt=attempt, connections=connections, artifacts=references,
            )  # fmt: skip
        reply = RunStepOutput(
            output=output,
            logs=logs[-MAX_LOG_CHARS:],
            logs_truncated=result.logs_truncated or len(logs) > MAX_LOG_CHARS,
            duration_ms=result.duration_ms,
            image=result.image,
            attempt=attempt,
            connections=connections,
            artifacts=references,
        )
        # Temporal would refuse a result over its payload limit and retry the activity: the
        # step would run again, with its side effects, only to fail the same way.
        size = encoded_size(reply)
        if size > MAX_PAYLOAD_BYTES and reply.logs:  # logs are what may give way: keep the end
            reply.logs, reply.logs_truncated = reply.logs[-LOG_TAIL_CHARS:], True
            size = encoded_size(reply)
        if size > MAX_PAYLOAD_BYTES and len(reply.connections) > CONNECTIONS_TAIL:
            # then the connection records: the first ones, and how many more there were
            left_out = len(reply.connections) - CONNECTIONS_TAIL + 1
            reply.connections = [*reply.connections[: CONNECTIONS_TAIL - 1], summary(left_out)]
            size = encoded_size(reply)
        if size > MAX_PAYLOAD_BYTES:
            message = (
                f"the step's result is {size} bytes encoded; the platform's limit is "
                f"{MAX_PAYLOAD_BYTES} bytes (Temporal's payload limit, less framing)"
            )
            raise _failure(
                ErrorType.OUTPUT_LIMIT, message, non_retryable=True, logs=logs, attempt=attempt,
                connections=reply.connections,
            )  # fmt: skip
        return reply

    async def _record_artifacts(
        self, request: RunStepInput, result: StepResult, attempt: int
    ) -> tuple[list[dict[str, Any]], str]:
        """Store the execution's artifacts; their references, and a log line if they could not
        be stored. A store outage does not fail the step: failing would make Temporal run it
        (and its side effects) again for files only; the log says what was lost."""
        if not result.artifacts or self._artifacts is None:
            return [], ""
        recorder = self._artifacts
        try:
            references = await asyncio.get_running_loop().run_in_executor(
                self._executor,
                lambda: recorder.record(
                    workspace_id=request.workspace_id, run_id=request.run_id,
                    step_id=request.step_id, attempt=attempt, artifacts=result.artifacts,
                ),
            )  # fmt: skip
        except Exception as exc:  # the store's or the database's failure, whatever the driver
            log.warning("run %s step %s: artifacts not stored: %s", request.run_id,
                        request.step_id, exc)  # fmt: skip
            names = ", ".join(a.name for a in result.artifacts)
            return [], f"[stepwell: the step's artifacts ({names}) could not be stored]\n"
        return references, ""

    async def _run_in_sandbox(
        self, request: RunStepInput, secrets: dict[str, str], attempt: int
    ) -> StepResult:
        try:
            bundle = await asyncio.get_running_loop().run_in_executor(
                self._executor, self._bundles.get, request.digest
            )
        except (BundleNotFound, BundleError) as exc:
            # Not an outage: waiting does not bring it. The API stored it before the run began,
            # so this worker reads another store than the API (see docs/scaling.md).
            log.error("bundle %s: %s (%s)", request.digest, exc, MISSING_BUNDLE_HINT)
            message = f"bundle {request.digest}: {exc}; {MISSING_BUNDLE_HINT}"
            raise _failure(ErrorType.SANDBOX, message, non_retryable=True) from None
        except BundleStoreError as exc:
            # the bucket and the settings to fix are for the operator's log, not the run record
            log.warning("bundle %s: %s", request.digest, exc)
            message = f"bundle {request.digest}: the bundle store is unavailable"
            raise _failure(ErrorType.SANDBOX, message, non_retryable=False) from None
        limits = Limits.model_validate(
            {**(request.manifest.get("limits") or {}), "timeout_s": request.timeout_s}
        )
        deadline = datetime.now(UTC) + timedelta(seconds=limits.timeout_s)
        envelope = Envelope(
            input=request.input,
            secrets=secrets,
            context=StepContext(
                run_id=request.run_id, step_id=request.step_id, attempt=attempt,
                deadline=deadline.isoformat(),
            ),
        )  # fmt: skip
        tail = LiveTail(Redactor(secrets.values()), LOG_TAIL_CHARS)
        earlier = carried(activity.info().heartbeat_details)
        cancel = threading.Event()
        future = asyncio.get_running_loop().run_in_executor(
            self._executor,
            lambda: self._sandbox.run(bundle, envelope, limits, on_log=tail.feed, cancel=cancel),
        )
        try:
            while True:
                try:
                    return await asyncio.wait_for(asyncio.shield(future), self._heartbeat_every_s)
                except TimeoutError:
                    # earlier attempts' records ride along, so a worker lost mid-attempt
                    # does not lose them for the next attempt
                    activity.heartbeat({"log_tail": tail.text(), "connections": earlier})
        except asyncio.CancelledError:
            # Kill the container and wait until it is gone before acknowledging.
            cancel.set()
            with contextlib.suppress(StepCancelled, StepwellError):
                await future
            raise
        except StepwellError as exc:
            # no result, so no records of this attempt; earlier attempts' records go on
            raise _failure(
                exc.error_type,
                exc.message,
                non_retryable=isinstance(exc, DependencyError),
                attempt=attempt,
                connections=carried(activity.info().heartbeat_details),
            ) from None

    def close(self) -> None:
        """Stop the executor; running sandbox calls are abandoned."""
        self._executor.shutdown(wait=False, cancel_futures=True)
