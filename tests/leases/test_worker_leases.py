"""Workers as processes: a dead worker's containers and lease go, nothing else does.

Each test runs real ``stepwell worker`` processes (their own home, a fresh task queue, the session
Temporal dev server, one pooled container per pool) on the shared Docker engine, sharing a
database of their own: only containers labelled with that database's installation id are
ever judged by its leases, so nothing else on the engine is touched.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import docker
import pytest
import sqlalchemy as sa
from temporalio.testing import WorkflowEnvironment

from activities.bundles import LocalBundleStore
from sandbox import labels
from stepwell import leases
from stepwell.local_steps import LocalSteps
from tests.api.conftest import _postgres_database
from tests.flows.conftest import inline_step
from tests.leases.conftest import _migrate
from tests.leases.workers import (
    LEASES,
    WorkerProcess,
    containers_of,
    lease_of,
    registered,
    remove_installation_containers,
    until,
    worker_env,
)
from ui_api.db import create_engine
from workflows.definition import FlowDefinition
from workflows.types import FLOW_RUN, FlowRunInput, FlowRunOutput

pytestmark = [pytest.mark.temporal, pytest.mark.docker]


@pytest.fixture
def foreign_container(
    docker_client: docker.DockerClient, base_image: str, fleet_engine: sa.Engine
) -> Iterator[str]:
    """A container of another installation sharing the engine, whose owner's id has an
    expired lease in *our* database: our janitor must not judge it by that lease."""
    owner = leases.new_owner_id()
    engine_id = leases.engine_id_of(docker_client)
    leases.register(fleet_engine, owner, engine_id, lease_s=30)
    with fleet_engine.begin() as connection:
        past = leases.db_now(connection) - timedelta(seconds=5)
        connection.execute(LEASES.update().where(LEASES.c.id == owner).values(expires_at=past))
    container = docker_client.api.create_container(
        base_image,
        command=["true"],
        labels={
            labels.ROLE: labels.ROLE_STEP,
            labels.OWNER: owner,
            labels.INSTALLATION: f"inst_{secrets.token_hex(10)}",
            labels.EXPIRES: str(int(time.time()) + 3600),
        },
    )["Id"]
    yield str(container)
    docker_client.api.remove_container(container, force=True)


async def test_a_killed_workers_containers_and_lease_go_and_nothing_else_does(
    temporal: WorkflowEnvironment,
    docker_client: docker.DockerClient,
    fleet_url: str,
    fleet_engine: sa.Engine,
    foreign_container: str,
    tmp_path: Path,
) -> None:
    queue = f"leases-{uuid.uuid4().hex[:8]}"
    first = await WorkerProcess.start(
        worker_env(temporal, tmp_path / "a", queue, fleet_url, lease_s=3), tmp_path / "a.log"
    )
    second = await WorkerProcess.start(
        worker_env(temporal, tmp_path / "b", queue, fleet_url, lease_s=3), tmp_path / "b.log"
    )
    try:
        dead, dead_containers = await registered(first, fleet_engine, docker_client)
        live, live_containers = await registered(second, fleet_engine, docker_client)
        assert f"worker {dead} of installation" in first.text(), "the worker logs its id"

        # Both alive: several janitor passes each (1 s apart) while leases renew (every 1 s).
        started = lease_of(fleet_engine, second.process.pid).started_at  # type: ignore[union-attr]

        def renewed_since_start() -> bool:
            row = lease_of(fleet_engine, first.process.pid)
            return row is not None and row.renewed_at > started + timedelta(seconds=4)

        await until(renewed_since_start, "the first worker renews its lease for 4 s")
        assert dead_containers <= containers_of(docker_client, dead), "a live worker's went"
        assert live_containers <= containers_of(docker_client, live), "a live worker's went"

        await first.kill()  # SIGKILL: no chance to clean up
        await until(
            lambda: not containers_of(docker_client, dead) and not lease_of(fleet_engine, dead),
            "the second worker's janitor removes the dead one's containers and lease",
        )
        assert live_containers <= containers_of(docker_client, live)
        assert docker_client.api.containers(all=True, filters={"id": foreign_container}), (
            "another installation's container was judged by our leases"
        )
        assert "removed" in second.text() and dead in second.text(), "the removal is logged"

        assert await second.terminate() == 0
        assert containers_of(docker_client, live) == set(), "a clean stop leaves nothing"
        assert lease_of(fleet_engine, second.process.pid) is None, "nor its lease"
    finally:
        await first.kill()
        await second.kill()


@pytest.fixture
def postgres_url(docker_client: docker.DockerClient) -> Iterator[str]:
    """A throwaway PostgreSQL database, migrated, whose connections the test may cut."""
    for url in _postgres_database():
        _migrate(url)
        yield url
        remove_installation_containers(docker_client, url)


def _connections(admin: sa.Engine, database: str, allowed: bool) -> None:
    """Let clients connect to ``database`` or not; cutting also drops every open connection."""
    with admin.connect() as connection:
        connection.execute(
            sa.text(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}')
        )
        if not allowed:
            connection.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": database},
            )


@pytest.fixture
def outage(postgres_url: str) -> Iterator[tuple[sa.Engine, str]]:
    """An admin engine and the database's name; connections are allowed again at the end."""
    url = sa.engine.make_url(postgres_url)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    yield admin, str(url.database)
    _connections(admin, str(url.database), allowed=True)
    admin.dispose()


async def test_a_database_outage_shorter_than_the_lease_costs_nothing(
    temporal: WorkflowEnvironment,
    docker_client: docker.DockerClient,
    postgres_url: str,
    outage: tuple[sa.Engine, str],
    tmp_path: Path,
) -> None:
    admin, database = outage
    engine = sa.create_engine(postgres_url, pool_pre_ping=True)
    lease_s = 10
    worker = await WorkerProcess.start(
        worker_env(
            temporal, tmp_path / "w", f"leases-{uuid.uuid4().hex[:8]}", postgres_url, lease_s
        ),
        tmp_path / "w.log",
    )
    try:
        owner, containers = await registered(worker, engine, docker_client)
        cut = time.monotonic()
        _connections(admin, database, allowed=False)
        await until(lambda: "lease: pass failed" in worker.text(), "a renewal fails")
        _connections(admin, database, allowed=True)
        assert time.monotonic() - cut < lease_s, "the outage outlasted the lease: test is moot"
        with engine.connect() as connection:
            back = leases.db_now(connection)
        await until(
            lambda: lease_of(engine, worker.process.pid).renewed_at > back,  # type: ignore[union-attr]
            "the lease is renewed once the database is back",
        )
        assert "lease: works again" in worker.text()
        assert "LEASE LOST" not in worker.text()
        assert worker.process.returncode is None
        assert containers <= containers_of(docker_client, owner)
        assert await worker.terminate() == 0
    finally:
        await worker.kill()
        engine.dispose()


async def test_a_worker_whose_lease_expired_in_an_outage_stops_taking_work(
    temporal: WorkflowEnvironment,
    docker_client: docker.DockerClient,
    postgres_url: str,
    outage: tuple[sa.Engine, str],
    tmp_path: Path,
) -> None:
    """Others may have removed its containers meanwhile: it must not carry on as if not."""
    admin, database = outage
    engine = sa.create_engine(postgres_url, pool_pre_ping=True)
    worker = await WorkerProcess.start(
        worker_env(temporal, tmp_path / "w", f"leases-{uuid.uuid4().hex[:8]}", postgres_url, 3),
        tmp_path / "w.log",
    )
    try:
        owner, _ = await registered(worker, engine, docker_client)
        _connections(admin, database, allowed=False)
        await until(lambda: "not renewed for" in worker.text(), "the worker sees its lease overdue")
        _connections(admin, database, allowed=True)
        assert await worker.exited() == 1
        assert "LEASE LOST" in worker.text()
        assert containers_of(docker_client, owner) == set(), "it removes its own at stop"
        assert lease_of(engine, worker.process.pid) is None
    finally:
        await worker.kill()
        engine.dispose()


async def test_a_runs_history_names_the_worker_that_ran_each_step_by_its_owner_id(
    temporal: WorkflowEnvironment,
    docker_client: docker.DockerClient,
    sqlite_url: str,
    tmp_path: Path,
) -> None:
    engine = create_engine(sqlite_url)
    queue = f"leases-{uuid.uuid4().hex[:8]}"
    home = tmp_path / "w"
    worker = await WorkerProcess.start(
        worker_env(temporal, home, queue, sqlite_url, lease_s=3), tmp_path / "w.log"
    )
    try:
        owner, _ = await registered(worker, engine, docker_client)
        name = f"test.whoami{uuid.uuid4().hex[:6]}"
        step = inline_step(name, "def main():\n    return 'ran'\n")
        definition = FlowDefinition.model_validate(
            {"name": "whoami", "steps": [{"id": "me", "uses": f"{name}@1.0.0"}]}
        )
        request = FlowRunInput(
            definition=definition.document(),
            steps=LocalSteps([step], LocalBundleStore(home / "bundles")).resolve(definition),
        )
        handle = await temporal.client.start_workflow(
            FLOW_RUN, request, id=f"run-{uuid.uuid4().hex[:12]}", task_queue=queue,
            result_type=FlowRunOutput,
        )  # fmt: skip
        assert (await handle.result()).output == {"me": "ran"}
        started = [
            event.activity_task_started_event_attributes.identity
            async for event in handle.fetch_history_events()
            if event.HasField("activity_task_started_event_attributes")
        ]
        assert started == [owner]
        assert await worker.terminate() == 0
    finally:
        await worker.kill()
        engine.dispose()
