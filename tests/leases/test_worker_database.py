"""A worker and its database: wrong settings are named, not waited on for ever.

Real ``stepwell worker`` processes: against a database that does not exist on the real PostgreSQL,
against a closed port, on the default SQLite of its own home, and with a bundle store that lacks
the run's bundle (the worker reads another database than the API did).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import docker
import pytest
import sqlalchemy as sa
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from activities.bundles import LocalBundleStore
from stepwell.local_steps import LocalSteps
from stepwell_settings import Settings
from tests.api.conftest import DEFAULT_POSTGRES
from tests.flows.conftest import inline_step
from tests.leases.workers import (
    WorkerProcess,
    registered,
    remove_installation_containers,
    until,
    worker_env,
)
from ui_api.db import create_engine
from ui_api.runs.reader import VisibleRun, read_run
from workflows.definition import FlowDefinition
from workflows.types import FLOW_RUN, FlowRunInput, FlowRunOutput

pytestmark = [pytest.mark.temporal, pytest.mark.docker]


def _one_error_line(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error:")]


async def test_a_database_that_does_not_exist_ends_the_worker_at_once_naming_the_setting(
    temporal: WorkflowEnvironment, tmp_path: Path
) -> None:
    name = f"fix15a_missing_{uuid.uuid4().hex[:8]}"
    url = str(
        sa.engine.make_url(DEFAULT_POSTGRES)
        .set(database=name, password="hunter2")
        .render_as_string(hide_password=False)
    )
    env = worker_env(temporal, tmp_path / "w", "nowhere", url, lease_s=3)
    env["STEPWELL_DATABASE_WAIT_S"] = "3600"  # waiting is not what ends it
    worker = await WorkerProcess.start(env, tmp_path / "w.log")
    try:
        assert await worker.exited(60) == 1
        text = worker.text()
        [line] = _one_error_line(text)
        assert "STEPWELL_DATABASE_URL=postgresql" in line and name in line
        assert "does not exist" in line
        assert "hunter2" not in text, "the password is masked"
        assert "waiting for the database" not in text, "an error waiting cannot fix"
    finally:
        await worker.kill()


async def test_a_closed_port_is_waited_on_for_the_set_time_then_the_worker_exits(
    temporal: WorkflowEnvironment, tmp_path: Path
) -> None:
    url = "postgresql://stepwell:hunter2@127.0.0.1:9/stepwell"
    env = worker_env(temporal, tmp_path / "w", "nowhere", url, lease_s=3)
    env["STEPWELL_DATABASE_WAIT_S"] = "2"
    worker = await WorkerProcess.start(env, tmp_path / "w.log")
    try:
        assert await worker.exited(60) == 1
        text = worker.text()
        assert "waiting for the database STEPWELL_DATABASE_URL=postgresql" in text
        [line] = _one_error_line(text)
        assert "STEPWELL_DATABASE_URL=postgresql://stepwell:***@127.0.0.1:9/stepwell" in line
        assert "stayed unreachable for 2 s" in line
        assert "hunter2" not in text
    finally:
        await worker.kill()


async def test_a_worker_on_the_default_sqlite_says_so_and_its_stop_is_summed_up(
    temporal: WorkflowEnvironment, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    home = tmp_path / "w"
    env = worker_env(temporal, home, f"q-{uuid.uuid4().hex[:8]}", "unused", lease_s=3)
    del env["STEPWELL_DATABASE_URL"]
    worker = await WorkerProcess.start(env, tmp_path / "w.log")
    engine = create_engine(f"sqlite:///{home / 'stepwell.db'}")
    try:
        # its database is ready (migrated, the lease written) once it says which installation
        await until(lambda: " of installation " in worker.text(), "the worker registers")
        owner, _ = await registered(worker, engine, docker_client)
        text = worker.text()
        assert f"uses the SQLite file {home.resolve() / 'stepwell.db'}" in text
        assert "STEPWELL_DATABASE_URL is not set" in text
        assert await worker.terminate() == 0
        [last] = [line for line in worker.text().splitlines() if " stopped: " in line]
        assert "0 steps finished and 0 cancelled during shutdown" in last
        assert f"lease {owner} released" in last
    finally:
        await worker.kill()
        engine.dispose()
        if (home / "stepwell.db").exists():
            remove_installation_containers(docker_client, f"sqlite:///{home / 'stepwell.db'}")


async def test_a_bundle_the_workers_store_lacks_fails_the_step_at_once_naming_the_settings(
    temporal: WorkflowEnvironment,
    docker_client: docker.DockerClient,
    sqlite_url: str,
    tmp_path: Path,
) -> None:
    """The bundle went to a store the worker does not read (as when the API and the worker use
    different databases): the run fails on the first attempt instead of being retried as an
    outage for the platform's budget (an hour)."""
    engine = create_engine(sqlite_url)
    queue = f"leases-{uuid.uuid4().hex[:8]}"
    worker = await WorkerProcess.start(
        worker_env(temporal, tmp_path / "w", queue, sqlite_url, lease_s=3), tmp_path / "w.log"
    )
    try:
        await registered(worker, engine, docker_client)
        name = f"test.elsewhere{uuid.uuid4().hex[:6]}"
        step = inline_step(name, "def main():\n    return 'ran'\n")
        definition = FlowDefinition.model_validate(
            {"name": "elsewhere", "steps": [{"id": "me", "uses": f"{name}@1.0.0"}]}
        )
        elsewhere = LocalBundleStore(tmp_path / "the-apis-bundles")
        request = FlowRunInput(
            definition=definition.document(),
            steps=LocalSteps([step], elsewhere).resolve(definition),
        )
        handle = await temporal.client.start_workflow(
            FLOW_RUN, request, id=f"run-{uuid.uuid4().hex[:12]}", task_queue=queue,
            result_type=FlowRunOutput,
        )  # fmt: skip
        with pytest.raises(WorkflowFailureError):
            await asyncio.wait_for(handle.result(), 120)
        run = VisibleRun(handle.id, "default", handle, await handle.describe())
        step_view = (await read_run(Settings(), run)).steps["me"]
        assert step_view.status == "failed" and step_view.infra_retries == 0
        assert step_view.error is not None and step_view.error.type == "SandboxError"
        assert "no bundle sha256:" in step_view.error.message
        assert "STEPWELL_DATABASE_URL" in step_view.error.message
        assert "STEPWELL_BUNDLE_STORE" in step_view.error.message
        assert "STEPWELL_DATABASE_URL" in worker.text(), "the operator's log says it too"
        assert await worker.terminate() == 0
    finally:
        await worker.kill()
        engine.dispose()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("not a url", "Could not parse"),
        ("mysql://stepwell:hunter2@127.0.0.1/stepwell", "No module named"),
    ],
    ids=["unparseable", "driver-not-installed"],
)
async def test_a_url_waiting_cannot_fix_ends_the_worker_at_once(
    temporal: WorkflowEnvironment, tmp_path: Path, url: str, says: str
) -> None:
    env = worker_env(temporal, tmp_path / "w", "nowhere", url, lease_s=3)
    env["STEPWELL_DATABASE_WAIT_S"] = "3600"
    worker = await WorkerProcess.start(env, tmp_path / "w.log")
    try:
        assert await worker.exited(60) == 1
        text = worker.text()
        [line] = _one_error_line(text)
        assert "STEPWELL_DATABASE_URL=" in line and says in line
        assert "hunter2" not in text
    finally:
        await worker.kill()
