"""Fixtures of the lease tests: migrated databases of each kind, one per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import sqlalchemy as sa

from stepwell import leases
from tests.api.conftest import _postgres_database
from tests.leases.workers import remove_installation_containers
from ui_api.db import create_engine, migrate


@pytest.fixture(params=["sqlite", "postgresql"])
def fleet_url(
    request: pytest.FixtureRequest, tmp_path: Path, docker_client: docker.DockerClient
) -> Iterator[str]:
    """A new database of each kind, migrated to head; at the end, no container of its
    installation is left on the engine."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'fleet.db'}"
        _migrate(url)
        yield url
        remove_installation_containers(docker_client, url)
    else:
        for url in _postgres_database():
            _migrate(url)
            yield url
            remove_installation_containers(docker_client, url)


@pytest.fixture
def sqlite_url(tmp_path: Path, docker_client: docker.DockerClient) -> Iterator[str]:
    """A new SQLite database, migrated (where the kind of database does not matter)."""
    url = f"sqlite:///{tmp_path / 'sqlite.db'}"
    _migrate(url)
    yield url
    remove_installation_containers(docker_client, url)


@pytest.fixture
def fleet_engine(fleet_url: str) -> Iterator[sa.Engine]:
    engine = create_engine(fleet_url)
    yield engine
    engine.dispose()


@pytest.fixture
def installation(fleet_engine: sa.Engine) -> str:
    return leases.installation_id(fleet_engine)


def _migrate(url: str) -> None:
    engine = create_engine(url)
    migrate(engine)
    engine.dispose()
