"""A worker's SIGTERM ends with one line saying what became of its steps and its lease."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path

import docker
import pytest
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.bundle_db import DatabaseBundleStore
from stepwell.local_steps import LocalSteps
from tests.flows.conftest import inline_step
from tests.leases.workers import WorkerProcess, registered, worker_env
from ui_api.db import create_engine
from workflows.definition import FlowDefinition
from workflows.types import FLOW_RUN, FlowRunInput, FlowRunOutput

pytestmark = [pytest.mark.temporal, pytest.mark.docker]


async def test_a_step_cut_short_by_sigterm_is_counted_as_cancelled_in_the_last_line(
    temporal: WorkflowEnvironment,
    docker_client: docker.DockerClient,
    sqlite_url: str,
    tmp_path: Path,
) -> None:
    engine = create_engine(sqlite_url)
    queue = f"leases-{uuid.uuid4().hex[:8]}"
    env = worker_env(temporal, tmp_path / "w", queue, sqlite_url, lease_s=3)
    env["STEPWELL_WORKER_SHUTDOWN_GRACE_S"] = "0.5"
    worker = await WorkerProcess.start(env, tmp_path / "w.log")
    handle = None
    try:
        owner, _ = await registered(worker, engine, docker_client)
        name = f"test.sleeper{uuid.uuid4().hex[:6]}"
        step = inline_step(name, "import time\n\ndef main():\n    time.sleep(120)\n")
        definition = FlowDefinition.model_validate(
            {"name": "sleeper", "steps": [{"id": "nap", "uses": f"{name}@1.0.0"}]}
        )
        request = FlowRunInput(
            definition=definition.document(),
            steps=LocalSteps([step], DatabaseBundleStore(engine)).resolve(definition),
        )
        handle = await temporal.client.start_workflow(
            FLOW_RUN, request, id=f"run-{uuid.uuid4().hex[:12]}", task_queue=queue,
            result_type=FlowRunOutput,
        )  # fmt: skip
        deadline = asyncio.get_running_loop().time() + 60
        while not await _step_started(handle):
            assert asyncio.get_running_loop().time() < deadline, "the step never started"
            await asyncio.sleep(0.1)
        assert await worker.terminate() == 0
        [last] = [line for line in worker.text().splitlines() if " stopped: " in line]
        assert "0 steps finished and 1 cancelled during shutdown" in last
        assert "handed back to Temporal for retry" in last
        assert f"lease {owner} released" in last
    finally:
        await worker.kill()
        if handle is not None:
            with contextlib.suppress(RPCError):
                await handle.terminate("test over")
        engine.dispose()


async def _step_started(handle: WorkflowHandle[object, FlowRunOutput]) -> bool:
    """True once a worker has taken the step (its activity is pending in state STARTED)."""
    pending = (await handle.describe()).raw_description.pending_activities
    return any(a.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED for a in pending)
