"""An unreachable Docker engine is the platform's fault: it is retried on the platform's budget,
not the step's ``max_attempts``, and the retries show in the run's record.

The worker under test reaches the (shared, never stopped) Docker engine through a unix-socket
proxy that the test cuts and restores: a real outage for that worker alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import docker
import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.bundles import BundleCache, LocalBundleStore
from activities.step_activities import StepActivities
from sandbox.config import SandboxConfig
from sandbox.launcher import Sandbox
from stepwell.local_steps import LocalSteps
from stepwell.worker import build_worker
from stepwell_settings import Settings
from tests.flows.conftest import inline_step
from tests.flows.test_worker_process import nap_run_losing_its_worker, start_worker, stop
from ui_api.runs.reader import VisibleRun, history_facts, step_states
from workflows.definition import FlowDefinition
from workflows.types import FLOW_RUN, PROGRESS_QUERY, FlowRunInput, FlowRunOutput

pytestmark = [pytest.mark.temporal, pytest.mark.docker]
ENGINE_SOCKET = "/var/run/docker.sock"


class EngineProxy:
    """A unix socket that forwards to the Docker engine while it is up."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(self._serve, str(self.path))

    async def stop(self) -> None:
        """Refuse new connections and cut the open ones."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        self.path.unlink(missing_ok=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        engine_reader, engine_writer = await asyncio.open_unix_connection(ENGINE_SOCKET)
        self._writers |= {writer, engine_writer}

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            if sink.can_write_eof():
                with contextlib.suppress(ConnectionError, OSError):
                    sink.write_eof()

        try:
            await asyncio.gather(pump(reader, engine_writer), pump(engine_reader, writer))
        finally:
            for each in (writer, engine_writer):
                self._writers.discard(each)
                each.close()


@pytest_asyncio.fixture
async def proxy() -> AsyncIterator[EngineProxy]:
    # not under tmp_path: a unix socket path must stay under 108 bytes
    engine = EngineProxy(Path(f"/tmp/stepwell-engine-{uuid.uuid4().hex[:8]}.sock"))
    yield engine
    await engine.stop()


@pytest_asyncio.fixture
async def proxied_queue(
    temporal: WorkflowEnvironment,
    proxy: EngineProxy,
    docker_client: docker.DockerClient,
    sandbox_config: SandboxConfig,
    base_image: str,
    bundle_store: LocalBundleStore,
) -> AsyncIterator[str]:
    """A worker on its own task queue whose only way to the engine is ``proxy``."""
    queue = f"infra-{uuid.uuid4().hex[:8]}"
    # the API version is given, so that building the client does not need the engine
    client = docker.DockerClient(
        base_url=f"unix://{proxy.path}", version=docker_client.api.api_version, timeout=30
    )
    activities = StepActivities(
        Sandbox(client, sandbox_config), BundleCache(bundle_store), max_concurrent=2,
        heartbeat_every_s=1.0,
    )  # fmt: skip
    settings = Settings(max_concurrent_steps=2, worker_shutdown_grace_s=5)
    async with build_worker(temporal.client, settings, activities, task_queue=queue):
        yield queue
    activities.close()
    client.close()


ATTEMPT = inline_step(
    "test.attempt",
    """
    from step_sdk import StepContext, step

    @step(name="test.attempt", version="1.0.0", retry={"max_attempts": 1})
    def main(ctx: StepContext) -> int:
        return ctx.attempt
    """,
    retry={"max_attempts": 1},
)
DEFINITION = {
    "name": "infra",
    "steps": [{"id": "one", "uses": "test.attempt@1.0.0"}],
    "output": {"attempt": "{{ steps.one.output }}"},
}


async def start(
    temporal: WorkflowEnvironment, queue: str, store: LocalBundleStore, **options: Any
) -> WorkflowHandle[Any, FlowRunOutput]:
    parsed = FlowDefinition.model_validate(DEFINITION)
    request = FlowRunInput(
        definition=parsed.document(),
        steps=LocalSteps([ATTEMPT], store).resolve(parsed),
        heartbeat_timeout_s=5,
        **options,
    )
    return await temporal.client.start_workflow(
        FLOW_RUN, request, id=f"run-{uuid.uuid4().hex[:12]}", task_queue=queue,
        result_type=FlowRunOutput,
    )  # fmt: skip


async def failed_activities(handle: WorkflowHandle[Any, Any]) -> int:
    history = await handle.fetch_history()
    return sum(e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED for e in history.events)


async def test_an_engine_outage_does_not_spend_the_steps_attempts(
    temporal: WorkflowEnvironment,
    proxy: EngineProxy,
    proxied_queue: str,
    bundle_store: LocalBundleStore,
) -> None:
    handle = await start(temporal, proxied_queue, bundle_store)  # engine unreachable
    for _ in range(600):  # until the step has met the outage twice
        if await failed_activities(handle) >= 2:
            break
        await asyncio.sleep(0.1)
    assert await failed_activities(handle) >= 2, "the step never met the outage"
    await proxy.start()
    result = await asyncio.wait_for(handle.result(), 120)
    step = result.steps["one"]
    assert step.status == "succeeded"
    assert result.output == {"attempt": 1}  # the step's only attempt was not spent on the outage
    assert step.attempts == 1
    assert step.infra_retries >= 2
    assert step.infra_error is not None and step.infra_error["type"] == "SandboxError"
    assert "Docker engine" in step.infra_error["message"] or "image" in step.infra_error["message"]
    run = VisibleRun(handle.id, "default", handle, await handle.describe())
    rebuilt = step_states(await history_facts(run), None)["one"]  # the history alone agrees
    assert rebuilt["status"] == "succeeded" and rebuilt["output"] == 1
    assert rebuilt["infra_retries"] == step.infra_retries and rebuilt["attempts"] == 1


async def test_an_outage_longer_than_the_budget_fails_the_step_with_sandbox_error(
    temporal: WorkflowEnvironment, proxied_queue: str, bundle_store: LocalBundleStore
) -> None:
    handle = await start(temporal, proxied_queue, bundle_store, infra_retry_budget_s=10)
    with pytest.raises(WorkflowFailureError) as caught:
        await asyncio.wait_for(handle.result(), 120)
    assert "step 'one' failed: SandboxError" in str(caught.value.cause)
    # Tries at about 0, 1, 3 and 7 s after the first failure (backoff 1, 2, 4 s); the next would
    # start 8 s later, past the 10 s budget. (Each try fails in well under a second: the socket
    # is missing.)
    assert await failed_activities(handle) == 4
    step = (await handle.query(PROGRESS_QUERY))["steps"]["one"]
    assert step["status"] == "failed" and step["infra_retries"] == 3
    assert step["error"]["type"] == "SandboxError"


async def test_a_worker_that_dies_on_the_last_attempt_does_not_fail_the_step(
    temporal: WorkflowEnvironment,
    tmp_path: Path,
    base_image: str,
    docker_client: docker.DockerClient,
) -> None:
    # the step's only attempt is lost with the worker
    env, handle, _ = await nap_run_losing_its_worker(
        temporal, docker_client, tmp_path / "home", f"lost-{uuid.uuid4().hex[:8]}",
        retry={"max_attempts": 1},
    )  # fmt: skip
    second = await start_worker(env)
    try:
        result = await asyncio.wait_for(handle.result(), 90)
    finally:
        assert await stop(second) == 0
    step = result.steps["nap"]
    assert step.attempts == 1
    assert step.infra_retries == 1
    assert step.infra_error is not None and "stopped heartbeating" in step.infra_error["message"]
    # the history alone (no worker answering) tells the same
    run = VisibleRun(handle.id, "default", handle, await handle.describe())
    rebuilt = step_states(await history_facts(run), None)["nap"]
    assert rebuilt["status"] == "succeeded" and rebuilt["infra_retries"] == 1
    assert rebuilt["output"] == "rested"
