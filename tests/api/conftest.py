"""The API over a real database (SQLite, and PostgreSQL) and a real Temporal dev server.

Each test gets fresh workspaces (``workspace``, ``other_workspace``); since every query is scoped
to a workspace, tests share one database per backend without seeing each other's rows.
PostgreSQL is required, never skipped: ``make setup`` starts one (``scripts/postgres.sh``), or
point ``STEPWELL_TEST_POSTGRES_URL`` at a server whose user may create databases.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import docker
import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from activities.artifacts import ArtifactRecorder
from activities.bundles import BundleCache
from activities.step_activities import StepActivities
from sandbox.config import SandboxConfig
from sandbox.launcher import Sandbox
from step_sdk.bundle import Bundle
from stepwell.local_steps import load_local_steps
from stepwell.worker import build_worker
from stepwell_settings import Settings
from tests.api.helpers import API_WORKER, WorkspaceKey, new_workspace
from ui_api.app import create_app
from ui_api.db import create_engine
from ui_api.secrets.service import DatabaseSecrets
from ui_api.services import Services, build_services

REPO = Path(__file__).resolve().parents[2]
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:54329/postgres"


def _postgres_database() -> Iterator[str]:
    admin_url = os.environ.get("STEPWELL_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    name = f"stepwell_test_{secrets.token_hex(4)}"
    try:
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is required at {admin_url} (run 'make setup' or set "
            f"STEPWELL_TEST_POSTGRES_URL): {exc.orig}",
            pytrace=False,
        )
    yield str(sa.engine.make_url(admin_url).set(database=name).render_as_string(False))
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of each kind, for migration tests (upgrading stored rows)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'stepwell.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture(scope="session")
def api_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="session")
def api_settings(api_home: Path, database_url: str) -> Settings:
    """Settings of the API under test (limits high enough not to get in the way by default)."""
    return Settings(
        home=api_home,
        database_url=database_url,
        api_rate_per_s=1000,
        api_burst=1000,
        webhook_rate_per_s=1000,
        webhook_burst=1000,
        heartbeat_timeout_s=5,
        task_queue=f"api-{secrets.token_hex(4)}",  # one worker per database under test
        max_concurrent_steps=4,
        worker_shutdown_grace_s=5,
    )


@pytest.fixture(scope="session")
def api_services(api_settings: Settings, temporal: WorkflowEnvironment) -> Iterator[Services]:
    services = build_services(
        api_settings,
        temporal.client,
        engine=create_engine(api_settings.database),
    )
    yield services
    services.engine.dispose()


@pytest.fixture(scope="session")
def app(api_services: Services) -> FastAPI:
    return create_app(api_services)


@pytest_asyncio.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client that talks to the app in-process (no auth header of its own)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://stepwell.test") as http:
        yield http


@pytest.fixture
def workspace(api_services: Services) -> WorkspaceKey:
    return new_workspace(api_services)


@pytest.fixture
def other_workspace(api_services: Services) -> WorkspaceKey:
    return new_workspace(api_services)


@pytest.fixture(scope="session")
def example_bundles(tmp_path_factory: pytest.TempPathFactory) -> list[Bundle]:
    """The example steps, built from a copy (whatever a build does, the checkout stays as it is)."""
    copy = tmp_path_factory.mktemp("api-examples") / "steps"
    shutil.copytree(REPO / "examples" / "steps", copy)
    return load_local_steps(copy)


@pytest_asyncio.fixture(scope="session")
async def api_worker(
    api_services: Services,
    temporal: WorkflowEnvironment,
    docker_client: docker.DockerClient,
    sandbox_config: SandboxConfig,
    base_image: str,
) -> AsyncIterator[str]:
    """A real worker for the API under test: its bundle store, its database's secrets."""
    settings = api_services.settings
    activities = StepActivities(
        Sandbox(docker_client, sandbox_config),
        BundleCache(api_services.bundles),
        DatabaseSecrets(api_services.engine, api_services.box),
        max_concurrent=4,
        heartbeat_every_s=1.0,
        artifacts=ArtifactRecorder(api_services.bundles, api_services.engine),
    )
    async with build_worker(temporal.client, settings, activities, identity=API_WORKER):
        yield settings.task_queue
    activities.close()
