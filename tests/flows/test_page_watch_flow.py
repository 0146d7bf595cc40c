"""``examples/flows/page_watch.json`` end to end: a real Temporal run whose ``web.screenshot``
step (headless Chromium in the browser image) screenshots a page of a local site and whose
``chat.notify`` step posts the result to a local webhook, both through the real egress proxy; the
screenshot is stored as the run's artifact. Its schedule (``page_watch.schedule.json``) is a body
the schedules API accepts.

The examples' egress lists name hosts on the internet; here the same code is rebuilt with
``egress`` naming the local site (no internet), and the webhook secret points there.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import docker
import pytest
import pytest_asyncio
import sqlalchemy as sa
from temporalio.testing import WorkflowEnvironment

from activities.artifacts import ArtifactRecorder
from activities.bundle_db import DatabaseBundleStore
from activities.secrets import StaticSecrets
from sandbox.config import SandboxConfig
from sandbox.launcher import Sandbox
from step_sdk.bundle import Bundle, build_bundle
from step_sdk.manifest import MANIFEST_FILE
from step_sdk.project import build_directory
from stepwell.local_steps import LocalSteps
from stepwell_settings import Settings
from tests.examples.browser_site import TITLE, Site, running_site, site_config
from tests.flows.conftest import worker_queue
from tests.sandbox.browser_fixtures import browser_image  # noqa: F401 - a fixture
from tests.sandbox.egress_fixtures import EgressServers, start_gateway
from ui_api.db import create_engine, migrate
from ui_api.schedules.rules import spec_problems
from ui_api.schedules.schemas import ScheduleCreate
from workflows.definition import FlowDefinition
from workflows.types import FLOW_RUN, FlowRunInput, FlowRunOutput

pytestmark = [pytest.mark.temporal, pytest.mark.docker]
REPO = Path(__file__).resolve().parents[2]
FLOWS = REPO / "examples" / "flows"
MARKER = uuid.uuid4().hex


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with running_site() as served:
        yield served


@pytest.fixture
def database(tmp_path: Path) -> Iterator[sa.Engine]:
    """A migrated SQLite database: its bundle table holds bundles and artifacts' bytes."""
    engine = create_engine(f"sqlite:///{tmp_path / 'stepwell.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store(database: sa.Engine) -> DatabaseBundleStore:
    return DatabaseBundleStore(database)


@pytest_asyncio.fixture
async def site_queue(
    temporal: WorkflowEnvironment,
    docker_client: docker.DockerClient,
    egress_config: SandboxConfig,
    egress_servers: EgressServers,
    site: Site,
    database: sa.Engine,
    store: DatabaseBundleStore,
    worker_settings: Settings,
    browser_image: str,  # noqa: F811 - the fixture imported above
) -> AsyncIterator[str]:
    """A worker whose egress proxy treats the site as public, storing artifacts in ``store``,
    with the webhook secret pointing at the site's ``/hook/<MARKER>``."""
    config = site_config(egress_config, egress_servers.bridge, site)
    gateway = start_gateway(docker_client, config)
    secrets = StaticSecrets({"local": {"CHAT_WEBHOOK_URL": f"http://{site.host}/hook/{MARKER}"}})
    recorder = ArtifactRecorder(store, database)
    sandbox = Sandbox(docker_client, config, egress=gateway)
    try:
        async with worker_queue(
            temporal, sandbox, store, worker_settings, secrets, artifacts=recorder
        ) as queue:
            yield queue
    finally:
        gateway.close()


def _example(name: str, tmp_path: Path, egress: tuple[str, ...]) -> Bundle:
    target = tmp_path / name
    shutil.copytree(REPO / "examples" / "steps" / name, target)
    bundle = build_directory(target)
    manifest = bundle.manifest.model_copy(update={"egress": egress})
    return build_bundle(manifest, {p: d for p, d in bundle.files.items() if p != MANIFEST_FILE})


def test_the_schedule_is_a_body_the_schedules_api_accepts() -> None:
    body = ScheduleCreate.model_validate_json((FLOWS / "page_watch.schedule.json").read_text())
    assert spec_problems(body.cron, body.interval_s, body.timezone) == []
    assert body.payload == {"url": "https://example.com/"}


async def test_the_page_is_screenshotted_and_posted_to_the_webhook(
    temporal: WorkflowEnvironment,
    site_queue: str,
    site: Site,
    database: sa.Engine,
    store: DatabaseBundleStore,
    tmp_path: Path,
) -> None:
    bundles = [
        _example(name, tmp_path, (site.host,)) for name in ("web_screenshot", "chat_webhook")
    ]
    definition = FlowDefinition.model_validate(json.loads((FLOWS / "page_watch.json").read_text()))
    url = f"http://{site.host}/page/{MARKER}"
    request = FlowRunInput(
        definition=definition.document(),
        steps=LocalSteps(bundles, store).resolve(definition),
        trigger={"url": url},
        heartbeat_timeout_s=5,
    )
    run_id = f"run-{uuid.uuid4().hex[:12]}"
    result: FlowRunOutput = await temporal.client.execute_workflow(
        FLOW_RUN, request, id=run_id, task_queue=site_queue, result_type=FlowRunOutput
    )

    assert result.status == "succeeded", result
    title = TITLE.format(marker=MARKER)
    assert result.output == {"title": title, "links": 3, "screenshot": "page.png", "notified": True}
    # the host's view: the page was fetched, then the message posted to the webhook
    page, hook = site.seen(MARKER)
    assert (page.method, page.path) == ("GET", f"/page/{MARKER}")
    assert (hook.method, hook.path) == ("POST", f"/hook/{MARKER}")
    assert json.loads(hook.body) == {
        "text": f"{title} ({url}): HTTP 200, 3 links. Screenshot: the run's artifact page.png.",
        "username": "Stepwell",
    }
    # the screenshot is the run's artifact: a row, and the PNG's bytes in the store
    with database.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT step_id, name, content_type, digest FROM artifact WHERE run_id = :r"),
            {"r": run_id},
        ).all()
    [(step_id, name, content_type, digest)] = rows
    assert (step_id, name, content_type) == ("shot", "page.png", "image/png")
    assert store.get(digest).startswith(b"\x89PNG\r\n\x1a\n")
