"""The worker process: polls Temporal's task queue and runs flows and steps.

It registers ``FlowRun`` and the step activities, limits concurrent steps, removes sandbox
leftovers at start and every minute (logging and outliving engine outages), and on SIGTERM/SIGINT
stops polling, drains its warm pools, gives running steps a grace period to finish, then cancels
them (which kills their containers) and stops the egress proxy, if a step with egress started one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import timedelta

import docker
import sqlalchemy as sa
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.worker import Worker

from activities.artifacts import ArtifactRecorder
from activities.bundle_store import check_bundle_store, open_bundle_store
from activities.bundles import BundleCache, BundleStore
from activities.secrets import SecretProvider
from activities.step_activities import StepActivities
from sandbox.errors import SandboxError
from sandbox.images import ImageBuilder
from sandbox.janitor import collect_containers
from sandbox.launcher import Sandbox
from sandbox.runtimes import check_runtime
from stepwell.background import run_periodically
from stepwell.temporal_runtime import connect
from stepwell_settings import Settings
from ui_api.db import create_engine
from ui_api.secrets.crypto import secret_box
from ui_api.secrets.service import DatabaseSecrets
from workflows.flow_run import FlowRun

log = logging.getLogger("stepwell.worker")
JANITOR_EVERY_S = 60


def build_worker(
    client: Client,
    settings: Settings,
    activities: StepActivities,
    *,
    task_queue: str | None = None,
) -> Worker:
    """A Temporal worker for flows and steps (not started)."""
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=[FlowRun],
        activities=[activities.run_step],
        max_concurrent_activities=settings.max_concurrent_steps,
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_shutdown_grace_s),
        # heartbeats carry the live log tail: send them every 2 s, not every 0.8 x timeout
        max_heartbeat_throttle_interval=timedelta(seconds=2),
        # An unexpected exception in any workflow fails its run; it never retries the workflow
        # task for ever (FlowRun says so itself too).
        workflow_failure_exception_types=[Exception],
    )


def build_activities(
    settings: Settings,
    docker_client: docker.DockerClient,
    secrets: SecretProvider | None = None,
    *,
    sandbox: Sandbox | None = None,
    bundle_store: BundleStore | None = None,
    engine: sa.Engine | None = None,
) -> StepActivities:
    """Step activities wired to the local Docker engine and the configured bundle store
    (``bundle_store``, else :func:`open_bundle_store`), cached under ``STEPWELL_HOME/cache``."""
    sandbox = sandbox or Sandbox(docker_client, settings.sandbox_config())
    engine = engine or create_engine(settings.database)
    store = bundle_store or open_bundle_store(settings, engine)
    bundles = BundleCache(store, settings.home / "cache" / "bundles")
    return StepActivities(
        sandbox, bundles, secrets, max_concurrent=settings.max_concurrent_steps,
        artifacts=ArtifactRecorder(store, engine),
    )  # fmt: skip


def check_sandbox_runtime(docker_client: docker.DockerClient, settings: Settings) -> None:
    """Refuse to start when steps cannot run under ``STEPWELL_SANDBOX_RUNTIME``.

    Raises:
        SandboxError: the runtime is not registered with the engine or cannot start a
            container there (one probe container of the base image, when it is built).
    """
    config = settings.sandbox_config()
    check_runtime(docker_client, config, ImageBuilder(docker_client, config).find())


async def janitor(docker_client: docker.DockerClient, *, every_s: float = JANITOR_EVERY_S) -> None:
    """Remove leftover step containers now and every ``every_s`` s, until cancelled.

    A pass that fails (the engine is unreachable, say) is logged and retried: the task never
    ends on its own.
    """

    async def one_pass() -> None:
        removed = await asyncio.to_thread(collect_containers, docker_client)
        if removed:
            ids = ", ".join(container_id[:12] for container_id in removed)
            log.warning("removed %d leftover step containers: %s", len(removed), ids)

    await run_periodically("janitor", one_pass, every_s=every_s, log=log)


def _warm_pools(sandbox: Sandbox, settings: Settings) -> None:
    """Start warming the pools and say what is kept warm (the base image may not exist yet:
    then the pools start with the first step)."""
    log.info("warm pools: %s", settings.describe_pools())
    try:
        sandbox.seed_pools()  # the pools log each key they keep warm ("keeping warm: ...")
    except SandboxError as exc:
        log.warning("warm pools start with the first step: %s", exc)


async def run_worker(
    settings: Settings,
    secrets: SecretProvider | None = None,
    *,
    stop: asyncio.Event | None = None,
    runtime: Runtime | None = None,
) -> None:
    """Connect, clean up, and run until SIGTERM or SIGINT (or until ``stop`` is set, when the
    caller handles signals itself, as ``stepwell up`` does).

    The Temporal client runs on ``runtime`` (the SDK's default when ``None``). Steps get their
    declared secrets from the API's database (``settings.database``, opened
    with ``settings.secret_key``) unless ``secrets`` says otherwise.
    """
    engine = create_engine(settings.database)
    if secrets is None:
        box = secret_box(settings)  # refuses the development key outside development mode
        secrets = DatabaseSecrets(engine, box)
    bundle_store = open_bundle_store(settings, engine)
    await asyncio.to_thread(check_bundle_store, bundle_store)
    docker_client = docker.from_env(timeout=120)
    docker_client.ping()
    await asyncio.to_thread(check_sandbox_runtime, docker_client, settings)
    client = await connect(settings.temporal_address, settings.temporal_namespace, runtime)
    # Its egress proxy starts with the first step that declares egress, and stops with us.
    sandbox = Sandbox(docker_client, settings.sandbox_config())
    activities = build_activities(
        settings, docker_client, secrets, sandbox=sandbox, bundle_store=bundle_store,
        engine=engine,
    )  # fmt: skip
    worker = build_worker(client, settings, activities)
    await asyncio.to_thread(_warm_pools, sandbox, settings)
    cleanup = asyncio.create_task(janitor(docker_client))
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
    log.info("worker polling %r on %s", settings.task_queue, settings.temporal_address)
    async with worker:
        await stop.wait()
        log.info("shutting down: running steps get %ss to finish", settings.worker_shutdown_grace_s)
        # no step will take a pooled container any more: remove them while the steps finish
        await asyncio.to_thread(sandbox.pools.close)
    cleanup.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await cleanup
    activities.close()
    sandbox.close()
    engine.dispose()
