"""The `stepwell worker`, `stepwell flow run` and `stepwell run show` commands as processes."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import uuid
from pathlib import Path
from typing import Any

import docker
import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.bundle_db import DatabaseBundleStore
from sandbox import labels
from stepwell.leases import owner_prefix
from stepwell.local_steps import LocalSteps
from tests.flows.conftest import REPO, inline_step
from ui_api.db import create_engine, migrate
from workflows.definition import FlowDefinition
from workflows.types import FLOW_RUN, PROGRESS_QUERY, FlowRunInput, FlowRunOutput

pytestmark = [pytest.mark.temporal, pytest.mark.docker]
STEPWELL = str(Path(sys.executable).parent / "stepwell")


def worker_env(temporal: WorkflowEnvironment, home: Path, queue: str) -> dict[str, str]:
    return {
        **os.environ,
        "STEPWELL_HOME": str(home),
        "STEPWELL_TEMPORAL_ADDRESS": temporal.client.service_client.config.target_host,
        "STEPWELL_TASK_QUEUE": queue,
        "STEPWELL_HEARTBEAT_TIMEOUT_S": "3",
        "STEPWELL_WORKER_SHUTDOWN_GRACE_S": "5",
        # a killed worker's containers go once its lease has expired, at the next janitor pass
        "STEPWELL_WORKER_LEASE_S": "3",
        "STEPWELL_JANITOR_EVERY_S": "1",
        # These tests find a run's container by its stepwell.run_id label, which only a container
        # created for the run has (a pooled one is created before any run exists).
        "STEPWELL_POOL_SIZE": "0",
    }


def home_store(home: Path) -> DatabaseBundleStore:
    """The bundle store a worker with ``STEPWELL_HOME=home`` reads by default: the bundle table
    of the SQLite database under ``home`` (migrated here, as the API would)."""
    engine = create_engine(f"sqlite:///{home / 'stepwell.db'}")
    migrate(engine)
    return DatabaseBundleStore(engine)


async def start_worker(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        STEPWELL, "worker", env=env, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def stop(process: asyncio.subprocess.Process) -> int:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(process.wait(), 30)


async def nap_run_losing_its_worker(
    temporal: WorkflowEnvironment,
    docker_client: docker.DockerClient,
    home: Path,
    queue: str,
    retry: dict[str, Any] | None = None,
) -> tuple[dict[str, str], WorkflowHandle[Any, FlowRunOutput], dict[str, str]]:
    """Start a run of a 4 s step on a worker process and SIGKILL that worker as soon as the
    step's container runs. Returns the worker environment (to start another), the run's handle
    and the label filter of its containers."""
    env = worker_env(temporal, home, queue)
    name = f"test.nap{uuid.uuid4().hex[:6]}"
    nap = inline_step(
        name,
        "import time\n\ndef main():\n    time.sleep(4)\n    return 'rested'\n",
        limits={"timeout_s": 60},
        retry=retry or {},
    )
    definition = FlowDefinition.model_validate(
        {"name": "nap", "steps": [{"id": "nap", "uses": f"{name}@1.0.0"}]}
    )
    request = FlowRunInput(
        definition=definition.document(),
        steps=LocalSteps([nap], home_store(home)).resolve(definition),
        heartbeat_timeout_s=3,
    )
    first = await start_worker(env)
    handle = await temporal.client.start_workflow(
        FLOW_RUN, request, id=f"run-{uuid.uuid4().hex[:12]}", task_queue=queue,
        result_type=FlowRunOutput,
    )  # fmt: skip
    by_run = {"label": f"{labels.RUN_ID}={handle.id}"}
    for _ in range(150):
        if docker_client.api.containers(filters=by_run):
            break
        await asyncio.sleep(0.2)
    assert docker_client.api.containers(filters=by_run), "the step never started"
    first.kill()  # SIGKILL: no chance to clean up
    await first.wait()
    return env, handle, by_run


async def test_killing_the_worker_mid_step_and_starting_another_finishes_the_run(
    temporal: WorkflowEnvironment,
    tmp_path: Path,
    base_image: str,
    docker_client: docker.DockerClient,
) -> None:
    env, handle, by_run = await nap_run_losing_its_worker(
        temporal, docker_client, tmp_path / "home", f"kill-{uuid.uuid4().hex[:8]}"
    )
    second = await start_worker(env)
    try:
        result = await asyncio.wait_for(handle.result(), 90)
        assert result.output == {"nap": "rested"}
        assert result.steps["nap"].attempts >= 2
    finally:
        assert await stop(second) == 0  # SIGTERM is a clean shutdown
    for _ in range(50):
        if not docker_client.api.containers(all=True, filters=by_run):
            break
        await asyncio.sleep(0.2)
    assert docker_client.api.containers(all=True, filters=by_run) == []


async def test_flow_run_follow_and_run_show(
    temporal: WorkflowEnvironment, tmp_path: Path, base_image: str
) -> None:
    queue, home = f"cli-{uuid.uuid4().hex[:8]}", tmp_path / "home"
    env = worker_env(temporal, home, queue)
    steps = tmp_path / "steps"
    shutil.copytree(REPO / "examples" / "steps", steps)
    flow = tmp_path / "flow.json"
    flow.write_text(json.dumps({
        "name": "cli",
        "steps": [
            {"id": "stats", "uses": "math.stats@1.0.0", "with": {"values": "{{ trigger.values }}"}},
            {"id": "slug", "uses": "text.slugify@1.0.0",
             "with": {"text": "mean {{ steps.stats.output.mean }}"}},
        ],
        "output": {"slug": "{{ steps.slug.output.slug }}"},
    }))  # fmt: skip
    worker = await start_worker(env)
    try:
        run = await asyncio.create_subprocess_exec(
            STEPWELL, "flow", "run", str(flow), "--steps", str(steps),
            "--input", '{"values": [1, 2, 3]}', "--follow",
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await asyncio.wait_for(run.communicate(), 120)
        text = stdout.decode()
        assert run.returncode == 0, text + stderr.decode()
        assert '"slug": "mean-2-0"' in text
        run_id = next(w for w in text.split() if w.startswith("run-"))
        assert f"/workflows/{run_id}" in text  # the link to the Temporal UI
        show = await asyncio.create_subprocess_exec(
            STEPWELL, "run", "show", run_id, "--json", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        shown, _ = await asyncio.wait_for(show.communicate(), 60)
        document = json.loads(shown)
        assert document["status"] == "succeeded"
        assert document["output"] == {"slug": "mean-2-0"}
        assert [s["step_id"] for s in document["steps"]] == ["stats", "slug"]
        assert all(s["outcome"] == "succeeded" and s["attempts"] == 1 for s in document["steps"])
        progress = await temporal.client.get_workflow_handle(run_id).query(PROGRESS_QUERY)
        assert progress["status"] == "succeeded"
    finally:
        assert await stop(worker) == 0


async def test_flow_run_refuses_an_invalid_flow_with_pointers(
    temporal: WorkflowEnvironment, tmp_path: Path
) -> None:
    steps = tmp_path / "steps"
    shutil.copytree(REPO / "examples" / "steps" / "slugify", steps / "slugify")
    flow = tmp_path / "flow.json"
    flow.write_text(json.dumps({"name": "bad", "steps": [
        {"id": "a", "uses": "text.slugify@9.9.9"},
        {"id": "b", "uses": "text.slugify@1.0.0", "with": {"text": 5, "max_len": "{{ ( }}"}},
    ]}))  # fmt: skip
    env = worker_env(temporal, tmp_path / "home", "unused")
    run = await asyncio.create_subprocess_exec(
        STEPWELL, "flow", "run", str(flow), "--steps", str(steps), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(run.communicate(), 60)
    text = stdout.decode() + stderr.decode()
    assert run.returncode == 1
    assert "/steps/0/uses" in text and "no version 9.9.9" in text
    assert "/steps/1/with/text" in text and "/steps/1/with/max_len" in text
    assert "Traceback" not in text


async def test_a_worker_keeps_pools_warm_says_so_and_drains_them_on_sigterm(
    temporal: WorkflowEnvironment,
    tmp_path: Path,
    base_image: str,
    docker_client: docker.DockerClient,
) -> None:
    queue = f"pools-{uuid.uuid4().hex[:8]}"
    env = {**worker_env(temporal, tmp_path / "home", queue), "STEPWELL_POOL_SIZE": "2"}
    worker = await asyncio.create_subprocess_exec(
        STEPWELL, "worker", env=env, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert worker.stderr is not None
    reading = asyncio.create_task(worker.stderr.read())  # a full pipe would stall the worker
    prefix = owner_prefix(pid=worker.pid)  # the worker's owner id (stepwell.leases)

    def pooled(running_only: bool = True) -> list[dict[str, Any]]:
        found = docker_client.api.containers(
            all=not running_only, filters={"label": f"{labels.ROLE}={labels.ROLE_POOLED}"}
        )
        return [c for c in found if c["Labels"].get(labels.OWNER, "").startswith(prefix)]

    try:
        for _ in range(300):
            if len(pooled()) >= 2:
                break
            await asyncio.sleep(0.2)
        waiting = {c["Id"] for c in pooled()}
        assert len(waiting) == 2, "the worker warms the base image's pool when it starts"
        name = f"test.pooled{uuid.uuid4().hex[:6]}"
        echo = inline_step(name, "def main():\n    return 'warm'\n")
        definition = FlowDefinition.model_validate(
            {"name": "warm", "steps": [{"id": "echo", "uses": f"{name}@1.0.0"}]}
        )
        request = FlowRunInput(
            definition=definition.document(),
            steps=LocalSteps([echo], home_store(tmp_path / "home")).resolve(definition),
        )
        result = await temporal.client.execute_workflow(
            FLOW_RUN, request, id=f"run-{uuid.uuid4().hex[:12]}", task_queue=queue,
            result_type=FlowRunOutput,
        )  # fmt: skip
        assert result.output == {"echo": "warm"}
        # one of the waiting containers served the step, and is removed (in the background)
        for _ in range(100):
            if not {c["Id"] for c in docker_client.api.containers(all=True)} >= waiting:
                break
            await asyncio.sleep(0.1)
        assert not {c["Id"] for c in docker_client.api.containers(all=True)} >= waiting
    finally:
        assert await stop(worker) == 0
    log = (await reading).decode()
    assert "warm pools: 2 started containers per pool" in log, log
    assert f"keeping warm: {base_image.removeprefix('sha256:')[:12]}" in log, log
    assert pooled(running_only=False) == []
