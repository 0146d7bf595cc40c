"""A Stepwell fleet on one machine: two Docker engines, a Temporal dev server, a PostgreSQL
database of its own, two ``stepwell api`` processes and three ``stepwell worker`` processes with
separate homes, on a task queue of its own.

Everything that can start at once does (the second engine and its image copy, the Temporal dev
server, the database and its migration), then the API processes and the workers together.
:func:`running_fleet` always tears it all down, and then asserts that nothing it started is
left: no process of any child's session, no container of this fleet on either engine, no
mount or process of the second engine.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

import docker
import httpx
import sqlalchemy as sa

from sandbox import labels
from tests.fleet.engine import SecondEngine
from tests.fleet.processes import Child, free_port, wait_for
from ui_api.auth.service import create_key, create_workspace
from ui_api.db import create_engine, migrate, session_scope
from ui_api.runs import search_attributes

T = TypeVar("T")
BIN = Path(sys.executable).parent
ADMIN_POSTGRES = os.environ.get(
    "STEPWELL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:54329/postgres"
)
START_TIMEOUT_S = 120
# Small on purpose: a killed worker's step is retried elsewhere after HEARTBEAT_TIMEOUT_S, and
# its containers are removed by the next janitor pass after its lease (LEASE_S) has expired.
HEARTBEAT_TIMEOUT_S = 5
LEASE_S = 6
JANITOR_EVERY_S = 2
WEBHOOK_BURST = 3


@dataclass
class Worker:
    """One ``stepwell worker``: its process, home, engine (``DOCKER_HOST``) and that engine's
    ``docker info`` ID."""

    name: str
    child: Child
    home: Path
    docker_host: str
    engine_id: str
    owner: str = ""


@dataclass
class Fleet:
    """The running fleet (see the module's docstring).

    Attributes:
        apis: the two API base URLs, ``http://127.0.0.1:<port>``.
        api_home: the home directory the API processes share (nothing else uses it).
        key: an API key of the fleet's workspace.
        database_url: the fleet's PostgreSQL database.
        temporal_address: ``127.0.0.1:<port>`` of its Temporal dev server.
        task_queue: the queue its APIs start runs on and its workers poll.
        engines: Docker clients by engine ID (the set-up's engine and the second one).
    """

    apis: list[str]
    api_home: Path
    key: str
    database_url: str
    temporal_address: str
    task_queue: str
    workers: list[Worker]
    engines: dict[str, docker.DockerClient]
    database: sa.Engine

    def client(self, index: int) -> httpx.AsyncClient:
        """An HTTP client on API process ``index`` with the fleet's key."""
        headers = {"Authorization": f"Bearer {self.key}"}
        return httpx.AsyncClient(base_url=self.apis[index], headers=headers, timeout=30)

    def containers_of(self, owner: str, engine_id: str) -> list[str]:
        """Names of the containers on that engine whose ``stepwell.owner`` is ``owner``."""
        # the low-level list: the high-level one inspects each container, and one removed
        # meanwhile (by a janitor) would fail it
        found = self.engines[engine_id].api.containers(
            all=True, filters={"label": f"{labels.OWNER}={owner}"}
        )
        return [str(summary["Names"][0]).lstrip("/") for summary in found]


def _create_database() -> str:
    name = f"stepwell_fleet_{secrets.token_hex(4)}"
    admin = sa.create_engine(ADMIN_POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return str(sa.engine.make_url(ADMIN_POSTGRES).set(database=name).render_as_string(False))


def _drop_database(url: str) -> None:
    name = sa.engine.make_url(url).database
    admin = sa.create_engine(ADMIN_POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _prepare_database(url: str) -> tuple[sa.Engine, str]:
    """Migrate once (so the two API processes never race on it), make the workspace and key."""
    engine = create_engine(url)
    migrate(engine)
    with session_scope(engine) as session:
        workspace = create_workspace(session, "fleet")
        _, key = create_key(session, workspace.id, "fleet test")
    return engine, key


def _start_temporal(root: Path) -> tuple[Child, str]:
    port = free_port()
    argv = [
        str(BIN / "temporal"), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
        "--port", str(port), "--http-port", str(free_port()),
        "--metrics-port", str(free_port()), "--log-level", "error",
        *search_attributes.dev_server_flags(),
    ]  # fmt: skip
    child = Child.start("the Temporal dev server", argv, dict(os.environ), root / "temporal.log")

    def listening() -> bool:
        child.check_alive()
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    try:
        wait_for("the Temporal dev server listening", listening, START_TIMEOUT_S)
    except BaseException:
        child.stop()
        raise
    return child, f"127.0.0.1:{port}"


def _start_engine(image_tags: list[str]) -> SecondEngine:
    engine = SecondEngine.start()
    try:
        engine.load_image(*image_tags)
    except BaseException:
        engine.stop()
        raise
    return engine


def _base_env() -> dict[str, str]:
    """The test's environment without any Stepwell or Docker setting of its own."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("STEPWELL_", "DOCKER_"))
    }


def _common_env(database_url: str, temporal_address: str, task_queue: str) -> dict[str, str]:
    return {
        **_base_env(),
        "STEPWELL_DATABASE_URL": database_url,
        "STEPWELL_TEMPORAL_ADDRESS": temporal_address,
        "STEPWELL_TASK_QUEUE": task_queue,
        # read where runs start (the API): it goes into each run's activity options
        "STEPWELL_HEARTBEAT_TIMEOUT_S": str(HEARTBEAT_TIMEOUT_S),
    }


def _start_api(root: Path, index: int, common: dict[str, str]) -> tuple[Child, str]:
    port = free_port()
    env = {
        **common,
        "STEPWELL_HOME": str(root / "api-home"),
        "STEPWELL_PUBLIC_URL": f"http://127.0.0.1:{port}",
        # a webhook bucket that does not refill during the test: exactly WEBHOOK_BURST
        # deliveries are accepted, whichever API process gets them
        "STEPWELL_WEBHOOK_BURST": str(WEBHOOK_BURST),
        "STEPWELL_WEBHOOK_RATE_PER_S": "0.0001",
    }
    argv = [str(BIN / "stepwell"), "api", "--host", "127.0.0.1", "--port", str(port)]
    return Child.start(f"api {index}", argv, env, root / f"api-{index}.log"), (
        f"http://127.0.0.1:{port}"
    )


def _start_worker(root: Path, name: str, engine: tuple[str, str], common: dict[str, str]) -> Worker:
    docker_host, engine_id = engine
    home = root / f"{name}-home"
    env = {
        **common,
        "STEPWELL_HOME": str(home),
        "DOCKER_HOST": docker_host,
        "STEPWELL_WORKER_LEASE_S": str(LEASE_S),
        "STEPWELL_JANITOR_EVERY_S": str(JANITOR_EVERY_S),
        "STEPWELL_WORKER_SHUTDOWN_GRACE_S": "5",
        "STEPWELL_MAX_CONCURRENT_STEPS": "4",
        "STEPWELL_POOL_SIZE": "1",
    }
    child = Child.start(name, [str(BIN / "stepwell"), "worker"], env, root / f"{name}.log")
    return Worker(name, child, home, docker_host, engine_id)


def _api_healthy(child: Child, url: str) -> bool:
    child.check_alive()
    try:
        return bool(httpx.get(f"{url}/healthz", timeout=5).json().get("status") == "ok")
    except (httpx.HTTPError, ValueError):
        return False


@contextmanager
def running_fleet(
    root: Path, main_engine: docker.DockerClient, image_tags: list[str]
) -> Iterator[Fleet]:
    """Start the fleet under ``root`` (logs, homes); ``image_tags`` are copied from the
    set-up's engine (``main_engine``) into the second one. Workers: ``worker-a`` on the
    set-up's engine, ``worker-b`` and ``worker-c`` on the second.

    Raises:
        AssertionError: a part did not start (with the end of its log), or the teardown found
            something of the fleet still running.
    """
    task_queue = f"fleet-{secrets.token_hex(4)}"
    children: list[Child] = []
    workers: list[Worker] = []
    engines: dict[str, docker.DockerClient] = {}
    leftovers: list[str] = []
    with ExitStack() as stack, ThreadPoolExecutor(max_workers=3) as pool:
        # callbacks run last to first: check, drop the database, stop the second engine,
        # stop the processes
        stack.callback(_check_teardown, leftovers)
        database_url_future = pool.submit(_create_database)
        stack.callback(_when_started, database_url_future, _drop_database)
        engine_future = pool.submit(_start_engine, image_tags)
        stack.callback(_when_started, engine_future, lambda e: _stop_engine(e, leftovers))
        temporal_future = pool.submit(_start_temporal, root)
        stack.callback(_stop_children, children, engines, workers, leftovers)
        stack.callback(
            _when_started, temporal_future, lambda started: children.insert(0, started[0])
        )

        database_url = database_url_future.result()
        database, key = _prepare_database(database_url)
        stack.callback(database.dispose)
        temporal_address = temporal_future.result()[1]
        second = engine_future.result()
        main_id = str(main_engine.info()["ID"])
        assert second.client is not None  # start() returns an engine that answered
        engines.update({main_id: main_engine, second.engine_id: second.client})

        common = _common_env(database_url, temporal_address, task_queue)
        apis = [_start_api(root, index, common) for index in range(2)]
        children.extend(api for api, _ in apis)
        main_host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        for name, engine in [
            ("worker-a", (main_host, main_id)),
            ("worker-b", (second.host, second.engine_id)),
            ("worker-c", (second.host, second.engine_id)),
        ]:
            workers.append(_start_worker(root, name, engine, common))
            children.append(workers[-1].child)
        for child, url in apis:
            wait_for(f"{child.name} healthy", partial(_api_healthy, child, url), START_TIMEOUT_S)
        for worker in workers:
            wait_for(f"{worker.name} polling", partial(_polling, worker), START_TIMEOUT_S)
            worker.owner = owner_of(database, worker)
        yield Fleet(
            apis=[url for _, url in apis],
            api_home=root / "api-home",
            key=key,
            database_url=database_url,
            temporal_address=temporal_address,
            task_queue=task_queue,
            workers=workers,
            engines=engines,
            database=database,
        )


def _when_started(future: Future[T], then: Callable[[T], object]) -> None:
    """``then(result)`` once ``future`` is done, if it succeeded (a teardown step)."""
    try:
        result = future.result()
    except BaseException:
        return
    then(result)


def _stop_engine(engine: SecondEngine, leftovers: list[str]) -> None:
    engine.stop()
    leftovers.extend(f"the second engine: {what} outlived it" for what in engine.leftovers)


def _polling(worker: Worker) -> bool:
    worker.child.check_alive()
    return "worker polling" in worker.child.log(tail_lines=400)


def owner_of(database: sa.Engine, worker: Worker) -> str:
    """The worker's owner id: its ``worker_lease`` row's id (polled until it is there)."""
    query = sa.text("SELECT id FROM worker_lease WHERE hostname = :host AND pid = :pid")
    found: list[str] = []

    def leased() -> bool:
        with database.connect() as connection:
            found[:] = (
                connection.execute(query, {"host": socket.gethostname(), "pid": worker.child.pid})
                .scalars()
                .all()
            )
        return bool(found)

    wait_for(f"{worker.name}'s lease", leased, START_TIMEOUT_S)
    return found[0]


def _stop_children(
    children: list[Child],
    engines: dict[str, docker.DockerClient],
    workers: list[Worker],
    leftovers: list[str],
) -> None:
    """Stop every child (workers first, the Temporal dev server last), then record what is
    left: processes of their sessions, and containers of the workers on either engine."""
    for child in reversed(children):
        left = child.stop()
        leftovers.extend(f"{child.name}: process {pid} outlived it" for pid in left)
    for worker in workers:
        if worker.engine_id not in engines or not worker.owner:
            continue
        engine = engines[worker.engine_id]
        label = f"{labels.OWNER}={worker.owner}"
        for summary in engine.api.containers(all=True, filters={"label": label}):
            leftovers.append(f"{worker.name}: container {summary['Names'][0]} outlived it")
            with contextlib.suppress(docker.errors.NotFound):
                engine.api.remove_container(summary["Id"], force=True, v=True)


def _check_teardown(leftovers: list[str]) -> None:
    assert not leftovers, "the fleet left things behind:\n" + "\n".join(leftovers)
