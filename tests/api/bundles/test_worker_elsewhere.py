"""A worker that shares nothing on disk with the API runs the steps pushed to it: the API and a
real ``stepwell worker`` process with different ``STEPWELL_HOME`` directories, one database (and,
with ``STEPWELL_BUNDLE_STORE=s3``, one bucket of moto's S3 server) between them."""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import docker
import httpx
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from activities.bundle_db import DatabaseBundleStore
from activities.bundle_s3 import S3BundleStore
from step_sdk.bundle import digest_of
from tests.api.bundles.moto import CREDENTIALS, REGION
from tests.api.helpers import WorkspaceKey, finished, new_workspace
from tests.api.step_bundles import bundle_bytes
from ui_api.app import create_app
from ui_api.db import create_engine
from ui_api.services import Services, build_services

pytestmark = [pytest.mark.temporal, pytest.mark.docker]
STEPWELL = str(Path(sys.executable).parent / "stepwell")


class Elsewhere:
    def __init__(self, http: httpx.AsyncClient, services: Services, worker_home: Path) -> None:
        self.http, self.services, self.worker_home = http, services, worker_home


@pytest.fixture(params=["database", "s3"])
def store_settings(request: pytest.FixtureRequest) -> dict[str, str]:
    """The bundle store the API and the worker are both configured with (environment form)."""
    if request.param == "database":
        return {}
    s3_url: str = request.getfixturevalue("s3_url")
    bucket: str = request.getfixturevalue("bucket")
    return {
        "STEPWELL_BUNDLE_STORE": "s3",
        "STEPWELL_S3_BUCKET": bucket,
        "STEPWELL_S3_ENDPOINT_URL": s3_url,
        "STEPWELL_S3_REGION": REGION,
        **CREDENTIALS,
    }


@pytest_asyncio.fixture
async def elsewhere(
    api_services: Services,
    temporal: WorkflowEnvironment,
    tmp_path: Path,
    base_image: str,
    docker_client: docker.DockerClient,
    store_settings: dict[str, str],
) -> AsyncIterator[Elsewhere]:
    """The API under test on a task queue of its own, and a worker process on it whose home is
    another directory; only the database URL, the bundle store's settings (and Temporal) are
    shared."""
    queue = f"elsewhere-{secrets.token_hex(4)}"
    store = {
        name.removeprefix("STEPWELL_").lower(): value
        for name, value in store_settings.items()
        if name.startswith("STEPWELL_")
    }
    settings = api_services.settings.model_copy(update={"task_queue": queue, **store})
    services = build_services(settings, temporal.client, engine=create_engine(settings.database))
    worker_home = tmp_path / "worker-home"
    assert worker_home != settings.home
    env = {
        **os.environ,
        **store_settings,
        "STEPWELL_HOME": str(worker_home),
        "STEPWELL_DATABASE_URL": settings.database,
        "STEPWELL_TEMPORAL_ADDRESS": temporal.client.service_client.config.target_host,
        "STEPWELL_TASK_QUEUE": queue,
        "STEPWELL_HEARTBEAT_TIMEOUT_S": "5",
        "STEPWELL_WORKER_SHUTDOWN_GRACE_S": "5",
        "STEPWELL_POOL_SIZE": "0",
    }
    log = (tmp_path / "worker.log").open("wb")
    worker = await asyncio.create_subprocess_exec(
        STEPWELL, "worker", env=env, stdout=log, stderr=log
    )
    transport = httpx.ASGITransport(app=create_app(services))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://stepwell.test") as http:
            yield Elsewhere(http, services, worker_home)
    finally:
        if worker.returncode is None:
            worker.terminate()
        code = await asyncio.wait_for(worker.wait(), 30)
        log.close()
        services.engine.dispose()
        assert code == 0, (tmp_path / "worker.log").read_text()


async def test_a_worker_with_its_own_home_runs_a_step_pushed_to_the_api(
    elsewhere: Elsewhere,
) -> None:
    http, services = elsewhere.http, elsewhere.services
    workspace: WorkspaceKey = new_workspace(services)
    name = f"test.elsewhere{secrets.token_hex(3)}"
    data = bundle_bytes(name=name)
    pushed = await http.post(
        "/v1/steps",
        files={"bundle": ("bundle.tgz", data, "application/gzip")},
        headers=workspace.headers,
    )
    assert pushed.status_code == 201, pushed.text
    kind = DatabaseBundleStore if services.settings.bundle_store == "database" else S3BundleStore
    assert isinstance(services.bundles, kind)
    definition = {
        "name": "elsewhere",
        "steps": [{"id": "echo", "uses": f"{name}@1.0.0", "with": {"text": "{{ trigger.t }}"}}],
        "output": {"said": "{{ steps.echo.output.text }}"},
    }
    created = await http.post(
        "/v1/flows", json={"definition": definition}, headers=workspace.headers
    )
    assert created.status_code == 201, created.text
    started = await http.post(
        "/v1/runs",
        json={"flow_id": created.json()["id"], "input": {"t": "from afar"}},
        headers=workspace.headers,
    )
    assert started.status_code == 201, started.text
    run = await finished(http, workspace, started.json()["run_id"], timeout_s=120)
    assert run["status"] == "succeeded", run
    assert run["output"] == {"said": "from afar"}
    # the worker fetched the bundle from the store into its own cache, checked; no directory of
    # bundles exists on either side
    cached = elsewhere.worker_home / "cache" / "bundles" / f"{digest_of(data)[7:]}.tgz"
    assert cached.read_bytes() == data
    assert not (services.settings.home / "bundles").exists()
    assert not (elsewhere.worker_home / "bundles").exists()
