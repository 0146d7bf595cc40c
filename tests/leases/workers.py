"""Real ``stepwell worker`` processes for the lease tests, and what to read about them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import docker
import sqlalchemy as sa
from temporalio.testing import WorkflowEnvironment

from sandbox import labels
from ui_api.fleet.models import WorkerLease

STEPWELL = str(Path(sys.executable).parent / "stepwell")
LEASES = WorkerLease.__table__  # type: ignore[attr-defined]


def worker_env(
    temporal: WorkflowEnvironment, home: Path, queue: str, database_url: str, lease_s: float
) -> dict[str, str]:
    return {
        **os.environ,
        "STEPWELL_HOME": str(home),
        "STEPWELL_DATABASE_URL": database_url,
        "STEPWELL_TEMPORAL_ADDRESS": temporal.client.service_client.config.target_host,
        "STEPWELL_TASK_QUEUE": queue,
        "STEPWELL_WORKER_SHUTDOWN_GRACE_S": "5",
        "STEPWELL_WORKER_LEASE_S": str(lease_s),
        "STEPWELL_JANITOR_EVERY_S": "1",
        "STEPWELL_POOL_SIZE": "1",
    }


class WorkerProcess:
    """One ``stepwell worker`` subprocess, its log in a file."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process = process
        self.log = log

    @classmethod
    async def start(cls, env: dict[str, str], log: Path) -> WorkerProcess:
        with log.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                STEPWELL, "worker", env=env, stdout=asyncio.subprocess.DEVNULL, stderr=sink
            )
        return cls(process, log)

    async def exited(self, timeout_s: float = 60) -> int:
        """Wait for the process to end by itself; its exit code."""
        return await asyncio.wait_for(self.process.wait(), timeout_s)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()

    async def terminate(self) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 60)


def lease_of(engine: sa.Engine, who: int | str) -> sa.Row[tuple[object, ...]] | None:
    """The lease row of a worker by its pid, or by its owner id."""
    column = LEASES.c.pid if isinstance(who, int) else LEASES.c.id
    with engine.connect() as connection:
        return connection.execute(sa.select(LEASES).where(column == who)).first()


def containers_of(client: docker.DockerClient, owner: str, role: str | None = None) -> set[str]:
    """The ids of ``owner``'s containers (of ``role`` only, if given)."""
    wanted = [f"{labels.OWNER}={owner}"] + ([f"{labels.ROLE}={role}"] if role else [])
    found = client.api.containers(all=True, filters={"label": wanted})
    return {str(summary["Id"]) for summary in found}


async def until(condition: Callable[[], object], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.1)


async def registered(
    worker: WorkerProcess, engine: sa.Engine, client: docker.DockerClient
) -> tuple[str, set[str]]:
    """Wait until ``worker`` holds a lease and keeps a pooled container; return its owner id
    and its pooled containers then (not its start-up probe container, which goes by itself)."""
    pid = worker.process.pid

    def ready() -> bool:
        assert worker.process.returncode is None, f"the worker exited:\n{worker.text()}"
        row = lease_of(engine, pid)
        return row is not None and bool(containers_of(client, str(row.id), labels.ROLE_POOLED))

    await until(ready, f"worker {pid} registers and fills its pool")
    row = lease_of(engine, pid)
    assert row is not None
    return str(row.id), containers_of(client, str(row.id), labels.ROLE_POOLED)


def remove_installation_containers(client: docker.DockerClient, database_url: str) -> None:
    """Remove every container of the installation of ``database_url`` (what a test's workers
    left when it failed before stopping them cleanly)."""
    from stepwell.leases import installation_id
    from ui_api.db import create_engine

    engine = create_engine(database_url)
    try:
        installation = installation_id(engine)
    finally:
        engine.dispose()
    wanted = {"label": f"{labels.INSTALLATION}={installation}"}
    for summary in client.api.containers(all=True, filters=wanted):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            client.api.remove_container(summary["Id"], force=True, v=True)
