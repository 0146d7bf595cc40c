"""The sandbox launcher: one fresh, hardened container per step execution, used once.

Cold path: create (hardened, labelled) -> attach -> start -> envelope (with the step's bundle) on
stdin -> read capped streams until exit or deadline -> inspect -> remove. Warm path: the same
container was created, attached and started ahead of time by a warm pool (``sandbox.pool``) and
waits for its envelope; the execution takes it (at most once), hands it the envelope, and from
there on it is the cold path's. The deadline starts at handoff. A container is removed whatever
happens, and never used twice.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import docker
from docker.errors import APIError, DockerException
from requests.exceptions import RequestException

from sandbox import labels
from sandbox.config import SandboxConfig
from sandbox.containers import (
    ContainerSpec,
    Reaper,
    StartedContainer,
    discard,
    start_container,
)
from sandbox.egress.gateway import EgressGateway, Lease
from sandbox.egress.records import ConnectionRecord, printable
from sandbox.egress.rules import effective_rules, ignored_note
from sandbox.envelope import Envelope
from sandbox.errors import ErrorType, SandboxError
from sandbox.execution import LogSink, NotReceived, StepCancelled, execute
from sandbox.frame import MAX_ERROR_TEXT, MAX_EXCEPTION_NAME
from sandbox.hardening import runner_command
from sandbox.pool import WarmPools
from sandbox.pool_fill import PoolFiller, pool_settings
from sandbox.pool_keys import PoolKey
from sandbox.pool_seed import seed_keys
from sandbox.redaction import Redactor
from sandbox.result import StepFailure, StepResult
from sandbox.step_images import StepImages
from sandbox.streams import escape_controls
from step_sdk.bundle import Bundle
from step_sdk.manifest import Limits
from step_sdk.runtimes import NODE, PYTHON

# An egress lease outlives the container's own time by this much, then closes itself.
_LEASE_MARGIN_S = 30.0
_DOCKER_ERRORS = (APIError, RequestException, DockerException)
log = logging.getLogger("stepwell.sandbox")
# StepCancelled and LogSink live in sandbox.execution; callers import them from here.
__all__ = ["LogSink", "Sandbox", "StepCancelled"]


class Sandbox:
    """Runs step bundles in fresh containers. Thread-safe: one call per execution.

    Steps that declare egress go through ``egress`` (an :class:`EgressGateway`), created on the
    first such execution unless given; :meth:`close` stops the one it created. ``pools`` are the
    warm pools (made from ``config.pool_*`` unless given); with ``pool_size`` 0 and nothing
    pinned with :meth:`WarmPools.warm`, every execution takes the cold path. Its containers carry
    ``config.owner``'s labels (sandbox.labels.owned_by); ``on_layer_use`` is told each dependency
    layer key it uses (at most once a minute per key when reused; it must not block).
    """

    def __init__(
        self,
        client: docker.DockerClient,
        config: SandboxConfig | None = None,
        images: StepImages | None = None,
        egress: EgressGateway | None = None,
        pools: WarmPools | None = None,
        on_layer_use: Callable[[str], None] | None = None,
    ) -> None:
        self._client = client
        self._api = client.api
        self.config = config or SandboxConfig()
        self.images = images or StepImages(client, self.config, on_layer_use=on_layer_use)
        self._egress = egress
        self._owns_egress = egress is None
        self._egress_lock = threading.Lock()
        self._reaper = Reaper(self._api)
        self.filler = PoolFiller(self._api, self.config, lambda: self.egress, self._reaper)
        self.pools = pools or WarmPools(
            self.filler.fill, self.filler.discard, pool_settings(self.config)
        )

    @property
    def egress(self) -> EgressGateway:
        """The egress gateway (created, not started, on first use)."""
        with self._egress_lock:
            if self._egress is None:
                self._egress = EgressGateway(self._client, self.config)
            return self._egress

    def pool_key(self, bundle: Bundle, limits: Limits | None = None) -> PoolKey:
        """The warm pool that would serve ``bundle`` (building its dependency layer if needed).

        Raises:
            SandboxError: the image cannot be prepared.
        """
        limits = limits or bundle.manifest.limits
        rules = effective_rules(bundle.manifest.egress, self.config.egress_mode)
        return PoolKey.of(
            self._image(bundle), limits, egress=bool(rules), runtime=bundle.manifest.runtime
        )

    def seed_pools(self) -> list[PoolKey]:
        """Warm the pools a starting worker will likely need first (``sandbox.pool_seed``);
        return their keys (none when pools are off).

        Raises:
            SandboxError: the base image is missing.
        """
        if self.config.pool_size <= 0:
            return []
        keys = seed_keys(self._client, self.config, self.images.base_image_id())
        node_image = self.images.node_base.find()
        if node_image is not None:  # JavaScript steps get a warm pool from the start too
            node_key = PoolKey.of(node_image, Limits(), egress=False, runtime=NODE)
            keys = [keys[0], node_key, *keys[1:]][: max(1, self.config.pool_max_keys)]
        self.pools.expect(keys)
        return keys

    def flush(self) -> None:
        """Wait until every container used or discarded so far has been removed."""
        self._reaper.flush()

    def close(self) -> None:
        """Drain the warm pools, remove what is left, and stop the egress proxy this sandbox
        started, if any (running executions lose it)."""
        self.pools.close()
        self._reaper.flush()
        with self._egress_lock:
            gateway = self._egress if self._owns_egress else None
        if gateway is not None:
            gateway.close()

    def run(
        self,
        bundle: Bundle,
        envelope: Envelope,
        limits: Limits | None = None,
        *,
        on_log: LogSink | None = None,
        cancel: threading.Event | None = None,
    ) -> StepResult:
        """Execute ``bundle`` once with ``envelope`` on stdin and report what happened.

        Limits default to the manifest's. Infrastructure failures raise :class:`SandboxError`,
        unresolvable requirements :class:`~sandbox.errors.DependencyError`; everything the step
        itself did is in the returned result, with the envelope's secret values (and their
        common encodings) redacted from its logs, output and error. ``on_log`` gets the raw log
        bytes as they arrive: render them with :class:`~sandbox.log_tail.LiveTail`.
        """
        limits = limits or bundle.manifest.limits
        redactor = Redactor(envelope.secrets.values())
        size = len(envelope.encode())
        if size > self.config.max_input_bytes:
            return StepResult(
                error=StepFailure(
                    ErrorType.INPUT_VALIDATION,
                    f"the input is {size} bytes; the limit is {self.config.max_input_bytes}",
                )
            )
        payload = envelope.encode(bundle.data, artifact_caps=self.config.artifact_caps())
        image = self._image(bundle)
        rules = effective_rules(bundle.manifest.egress, self.config.egress_mode)
        runtime = bundle.manifest.runtime
        pooled = self.pools.take(PoolKey.of(image, limits, egress=bool(rules), runtime=runtime))
        result = None
        if pooled is not None:
            result = self._warm(pooled, envelope, image, rules, payload, limits, on_log, cancel)
        if result is None:
            command = runner_command(runtime, limits, cold=True)
            result = self._cold(
                image, command, envelope, rules, payload, limits, on_log, cancel, runtime
            )
        if note := ignored_note(bundle.manifest.egress, rules, self.config.egress_mode):
            result = replace(result, logs=note + result.logs)
        return _redacted(result, redactor)

    def _image(self, bundle: Bundle) -> str:
        try:
            return self.images.for_bundle(bundle)
        except (APIError, RequestException, DockerException) as exc:
            # any engine fault while finding or building the image is the platform's, not the step's
            raise SandboxError(f"cannot prepare the step's image: {exc}") from exc

    def _warm(
        self,
        pooled: StartedContainer,
        envelope: Envelope,
        image: str,
        rules: tuple[str, ...],
        payload: bytes,
        limits: Limits,
        on_log: LogSink | None,
        cancel: threading.Event | None,
    ) -> StepResult | None:
        """Hand the envelope to a pooled container; ``None`` if the handoff failed before the
        step saw its envelope (the container is gone then, and the caller goes cold)."""
        # A pooled container has no run or step label (it was made before the run existed):
        # this line ties them together for whoever reads the worker's log.
        context = envelope.context
        log.info("run %s step %s: pooled container %s", context.run_id, context.step_id, pooled.id)
        lease = pooled.lease
        if lease is not None:
            try:
                lease = self.egress.grant(lease, rules, self._lease_ttl(limits))
            except SandboxError:
                self.filler.discard(pooled)
                return None
        try:
            result = self._handed(pooled, image, payload, limits, on_log, cancel)
        except BaseException:
            if lease is not None:
                with contextlib.suppress(SandboxError):
                    self.egress.release(lease)
            raise
        if lease is None:
            return result
        records = self._release(lease)
        return None if result is None else replace(result, connections=records)

    def _handed(
        self,
        container: StartedContainer,
        image: str,
        payload: bytes,
        limits: Limits,
        on_log: LogSink | None,
        cancel: threading.Event | None,
    ) -> StepResult | None:
        try:
            return execute(
                self._api, self.config, container, image, payload, limits, on_log, cancel
            )
        except NotReceived:
            return None
        except _DOCKER_ERRORS as exc:
            raise SandboxError(f"the Docker engine failed during the step: {exc}") from exc
        finally:
            self._finish(container)

    def _cold(
        self,
        image: str,
        command: list[str],
        envelope: Envelope,
        rules: tuple[str, ...],
        payload: bytes,
        limits: Limits,
        on_log: LogSink | None,
        cancel: threading.Event | None,
        runtime: str = PYTHON,
    ) -> StepResult:
        lease = None
        if rules:
            lease = self.egress.lease(rules, self._lease_ttl(limits))
        try:
            result = self._contained(
                image, command, envelope, payload, limits, lease, on_log, cancel, runtime
            )
        except BaseException:
            if lease is not None:
                # The original failure is what matters; the lease expires by itself anyway.
                with contextlib.suppress(SandboxError):
                    self.egress.release(lease)
            raise
        if lease is not None:
            result = replace(result, connections=self._release(lease))
        return result

    def _lease_ttl(self, limits: Limits) -> float:
        return limits.timeout_s + 2 * self.config.kill_grace_s + _LEASE_MARGIN_S

    def _release(self, lease: Lease) -> list[dict[str, Any]]:
        """The lease's records. The step has run: if the proxy died meanwhile, its records are
        lost, but failing the execution would only make Temporal run the step (and its side
        effects) again, so the loss is recorded instead."""
        try:
            return self.egress.release(lease)
        except SandboxError as exc:
            return [_lost_records(str(exc))]

    def _contained(
        self,
        image: str,
        command: list[str],
        envelope: Envelope,
        payload: bytes,
        limits: Limits,
        lease: Lease | None,
        on_log: LogSink | None,
        cancel: threading.Event | None,
        runtime: str = PYTHON,
    ) -> StepResult:
        step_labels = self._labels(envelope, limits)
        spec = ContainerSpec(
            image, limits, step_labels, lease, command=tuple(command), runtime=runtime
        )
        container = start_container(self._api, self.config, spec)
        try:
            return execute(
                self._api, self.config, container, image, payload, limits, on_log, cancel
            )
        except NotReceived as exc:
            raise SandboxError(f"the step's container {exc}") from exc
        except _DOCKER_ERRORS as exc:
            raise SandboxError(f"the Docker engine failed during the step: {exc}") from exc
        finally:
            self._finish(container)

    def _labels(self, envelope: Envelope, limits: Limits) -> dict[str, str]:
        now = int(time.time())
        expires = now + int(limits.timeout_s + self.config.kill_grace_s) + 60
        return {
            labels.ROLE: labels.ROLE_STEP,
            labels.RUN_ID: envelope.context.run_id[:200],
            labels.STEP_ID: envelope.context.step_id[:200],
            labels.CREATED: str(now),
            labels.EXPIRES: str(expires),
            **labels.owned_by(self.config),
        }

    def _finish(self, container: StartedContainer) -> None:
        """Remove a used container: in the background while pools are on (the result should
        not wait for it), at once otherwise (as before pools existed)."""
        if self.pools.enabled:
            self._reaper.remove(container)
        else:
            container.streams.close()
            discard(self._api, container)


def _lost_records(why: str) -> dict[str, Any]:
    """A record in the proxy's shape saying the execution's records could not be collected."""
    lost = ConnectionRecord(
        host="*", reason=printable(f"the egress proxy's records of this execution were lost: {why}")
    )
    lost.finish()
    return lost.as_json()


def _redacted(result: StepResult, redactor: Redactor) -> StepResult:
    """``result`` with secrets redacted, then control characters escaped in its logs.

    Redaction comes first (an escaped ``\\r`` no longer matches) and runs on whole texts before
    they are cut (a cut must not leave the start of a value behind); the log was capped while
    it was read, so what the cap cut off a value at its end is dropped.
    """
    logs = redactor.text(result.logs)
    if result.logs_truncated:
        logs = redactor.trim_partial(logs, end=True)
        dropped = result.stats.get("log_dropped", 0)
        logs += f"\n[stepwell: log truncated, {dropped} more bytes dropped]\n"
    error = result.error
    if error is not None:
        error = replace(
            error,
            message=redactor.text(error.message)[:MAX_ERROR_TEXT],
            traceback=redactor.text(error.traceback)[:MAX_ERROR_TEXT],
            exception=redactor.text(error.exception)[:MAX_EXCEPTION_NAME],
        )
    return replace(
        result,
        output=redactor.value(result.output),
        error=error,
        logs=escape_controls(logs),
        # a step can put a secret into a host name or method it asks the proxy for
        connections=redactor.value(result.connections),
    )
