"""The worker process: polls Temporal's task queue and runs flows and steps.

At start it takes a fresh owner id (stepwell.leases), registers its lease in the database before
it creates any container, and logs the id: it is the ``stepwell.owner`` label of every container
it creates and its Temporal worker identity (a run's history names the worker of each activity).
It renews the lease every third of ``STEPWELL_WORKER_LEASE_S``; if the lease is ever found expired
(renewals failed for longer than the lease) it logs it loudly and stops taking work, as on
SIGTERM, and :func:`run_worker` raises :class:`~stepwell.leases.LeaseLost` (its containers may
have been removed: a supervisor restarts it with a fresh id).

It registers ``FlowRun`` and the step activities, limits concurrent steps, and runs a janitor at
start and every ``STEPWELL_JANITOR_EVERY_S`` (logging and outliving engine and database outages):
it removes the containers of workers of this installation on this engine whose lease has expired,
then those leases, and other leftovers (sandbox.janitor). It records which dependency layers it
uses (``layer_use``) and removes layers no worker of this installation used on this engine for
``STEPWELL_LAYER_MAX_AGE_DAYS``, once an hour. On SIGTERM/SIGINT it stops polling, drains its warm
pools, gives running steps a grace period to finish, then cancels them (which kills their
containers), stops the egress proxy, removes anything of its own still there and deletes its lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

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
from sandbox import labels
from sandbox.config import SandboxConfig
from sandbox.errors import SandboxError
from sandbox.images import ImageBuilder
from sandbox.janitor import collect_containers, collect_layers
from sandbox.launcher import Sandbox
from sandbox.leftovers import LeaseView
from sandbox.runtimes import check_runtime
from stepwell import leases
from stepwell.background import run_periodically
from stepwell.database_check import SETTING, cannot_heal, masked, reason, unusable
from stepwell.layer_uses import LayerUseRecorder, recently_used
from stepwell.temporal_runtime import connect
from stepwell_settings import Settings
from ui_api.db import create_engine, migrate
from ui_api.secrets.crypto import secret_box
from ui_api.secrets.service import DatabaseSecrets
from workflows.flow_run import FlowRun

log = logging.getLogger("stepwell.worker")
JANITOR_EVERY_S = 60
LAYER_GC_EVERY_S = 3600.0
LAYER_USES_FLUSH_EVERY_S = 15.0


@dataclass
class Stopped:
    """How a worker's serving ended: steps that finished and were cancelled during shutdown,
    and whether it stopped because its lease was lost."""

    finished: int = 0
    cancelled: int = 0
    lost: bool = False


def build_worker(
    client: Client,
    settings: Settings,
    activities: StepActivities,
    *,
    task_queue: str | None = None,
    identity: str | None = None,
) -> Worker:
    """A Temporal worker for flows and steps (not started), named ``identity`` in histories
    (the worker's owner id; the SDK's ``pid@hostname`` when None)."""
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        identity=identity,
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


def check_sandbox_runtime(docker_client: docker.DockerClient, config: SandboxConfig) -> None:
    """Refuse to start when steps cannot run under ``STEPWELL_SANDBOX_RUNTIME``.

    Raises:
        SandboxError: the runtime is not registered with the engine or cannot start a
            container there (one probe container of the base image, when it is built; it carries
            ``config``'s owner labels).
    """
    check_runtime(docker_client, config, ImageBuilder(docker_client, config).find())


async def janitor(
    docker_client: docker.DockerClient,
    *,
    every_s: float = JANITOR_EVERY_S,
    leases_view: Callable[[], LeaseView] | None = None,
    after: Callable[[], list[str]] | None = None,
) -> None:
    """Remove leftover step containers now and every ``every_s`` s, until cancelled.

    ``leases_view`` says which owners of our installation on this engine hold a live lease (read
    after the containers are listed); ``after`` runs once the containers are gone (deleting the
    expired leases) and returns what it removed, for the log. A pass that fails (the engine or the
    database is unreachable) is logged and retried: the task never ends on its own.
    """

    def both() -> tuple[list[str], list[str]]:
        removed = collect_containers(docker_client, leases=leases_view)
        return removed, after() if after is not None else []

    async def one_pass() -> None:
        removed, expired = await asyncio.to_thread(both)
        if removed:
            ids = ", ".join(container_id[:12] for container_id in removed)
            log.warning("removed %d leftover step containers: %s", len(removed), ids)
        if expired:
            log.warning("deleted %d expired worker leases: %s", len(expired), ", ".join(expired))

    await run_periodically("janitor", one_pass, every_s=every_s, log=log)


def _warm_pools(sandbox: Sandbox, settings: Settings) -> None:
    """Start warming the pools and say what is kept warm (the base image may not exist yet:
    then the pools start with the first step)."""
    log.info("warm pools: %s", settings.describe_pools())
    try:
        sandbox.seed_pools()  # the pools log each key they keep warm ("keeping warm: ...")
    except SandboxError as exc:
        log.warning("warm pools start with the first step: %s", exc)


async def register_lease(
    engine: sa.Engine, owner: str, engine_id: str, settings: Settings, url: str
) -> str:
    """Bring the database's schema up to date (as the API does on start), register ``owner``'s
    lease and return the installation id. While the database is unreachable (or a concurrent
    migration fails this one) retry for up to ``STEPWELL_DATABASE_WAIT_S``, logging each failure
    with ``url`` (the database's, its password masked).

    Raises:
        DatabaseUnusable: an error waiting cannot fix (no such database, a refused password, a
            missing driver), at once; or the database stayed unreachable for the whole wait.
    """

    async def attempt() -> str:
        await asyncio.to_thread(migrate, engine)
        installation = await asyncio.to_thread(leases.installation_id, engine)
        await asyncio.to_thread(leases.register, engine, owner, engine_id, settings.worker_lease_s)
        return installation

    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.database_wait_s
    delay = 0.5
    while True:
        try:
            return await attempt()
        except Exception as exc:
            if cannot_heal(exc):
                raise unusable(url, exc) from exc
            if loop.time() + delay > deadline:
                raise unusable(url, exc, waited_s=settings.database_wait_s) from exc
            log.warning(
                "waiting for the database %s=%s to register lease %s: %s",
                SETTING, masked(url), owner, reason(exc),
            )  # fmt: skip
        await asyncio.sleep(delay)
        delay = min(delay * 2, 10.0)


def _remove_own_containers(docker_client: docker.DockerClient, owner: str) -> list[str]:
    removed = []
    for summary in docker_client.api.containers(
        all=True, filters={"label": f"{labels.OWNER}={owner}"}
    ):
        with contextlib.suppress(docker.errors.NotFound):
            docker_client.api.remove_container(summary["Id"], force=True, v=True)
            removed.append(str(summary["Id"]))
    return removed


async def run_worker(
    settings: Settings,
    secrets: SecretProvider | None = None,
    *,
    stop: asyncio.Event | None = None,
    runtime: Runtime | None = None,
) -> None:
    """Register a lease, clean up, and run until SIGTERM or SIGINT (or until ``stop`` is set,
    when the caller handles signals itself, as ``stepwell up`` does).

    The Temporal client runs on ``runtime`` (the SDK's default when ``None``). Leases, layer uses
    and (unless ``secrets`` says otherwise) the secrets steps declare come from the API's
    database (``settings.database``; secrets opened with ``settings.secret_key``).

    Raises:
        LeaseLost: the lease expired while the worker ran; it stopped taking work.
        DatabaseUnusable: the database cannot be used (stepwell.database_check).
    """
    box = secret_box(settings) if secrets is None else None  # refuses the development key ...
    try:
        engine = create_engine(settings.database)  # ... outside development mode
    except (sa.exc.ArgumentError, ImportError) as exc:  # a bad URL, a missing driver
        raise unusable(settings.database, exc) from exc
    try:
        if box is not None:
            secrets = DatabaseSecrets(engine, box)
        bundle_store = open_bundle_store(settings, engine)
        await asyncio.to_thread(check_bundle_store, bundle_store)
        docker_client = docker.from_env(timeout=120)
        docker_client.ping()
        engine_id = await asyncio.to_thread(leases.engine_id_of, docker_client)
        owner = leases.new_owner_id()
        installation = await register_lease(engine, owner, engine_id, settings, settings.database)
        log.info("worker %s of installation %s on engine %s", owner, installation, engine_id)
        stopped = Stopped()
        try:
            await _serve(
                settings, secrets, bundle_store, stop, runtime, docker_client, engine,
                engine_id, owner, installation, stopped,
            )  # fmt: skip
        finally:
            removed = await asyncio.to_thread(_remove_own_containers, docker_client, owner)
            try:
                await asyncio.to_thread(leases.release, engine, owner)
                lease = f"lease {owner} released"
            except sa.exc.SQLAlchemyError as exc:
                lease = f"lease {owner} NOT released ({reason(exc)}): it expires by itself"
            log.info(
                "stopped: %d steps finished and %d cancelled during shutdown (handed back to "
                "Temporal for retry), %d containers of ours removed, %s",
                stopped.finished, stopped.cancelled, len(removed), lease,
            )  # fmt: skip
        if stopped.lost:
            raise leases.LeaseLost(f"lease {owner} expired while the worker ran; it stopped")
    finally:
        engine.dispose()


async def _serve(
    settings: Settings,
    secrets: SecretProvider | None,
    bundle_store: BundleStore,
    stop: asyncio.Event | None,
    runtime: Runtime | None,
    docker_client: docker.DockerClient,
    engine: sa.Engine,
    engine_id: str,
    owner: str,
    installation: str,
    stopped: Stopped,
) -> None:
    """Run the registered worker until stopped; fill in ``stopped`` on the way out."""
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
    keeper = leases.LeaseKeeper(engine, owner, settings.worker_lease_s, on_lost=stop.set)
    background = [asyncio.create_task(keeper.run())]
    try:
        config = settings.sandbox_config(owner=owner, installation=installation)
        await asyncio.to_thread(check_sandbox_runtime, docker_client, config)
        client = await connect(settings.temporal_address, settings.temporal_namespace, runtime)
        uses = LayerUseRecorder(engine, engine_id)
        # Its egress proxy starts with the first step that declares egress, and stops with us.
        sandbox = Sandbox(docker_client, config, on_layer_use=uses)
        activities = build_activities(
            settings, docker_client, secrets, sandbox=sandbox, bundle_store=bundle_store,
            engine=engine,
        )  # fmt: skip
        worker = build_worker(client, settings, activities, identity=owner)
        await asyncio.to_thread(_warm_pools, sandbox, settings)
        background += _background_tasks(settings, docker_client, engine, engine_id, sandbox, uses)
        log.info("worker polling %r on %s", settings.task_queue, settings.temporal_address)
        async with worker:
            await stop.wait()
            log.info(
                "shutting down: running steps get %ss to finish", settings.worker_shutdown_grace_s
            )
            before = activities.finished, activities.cancelled
            # no step will take a pooled container any more: remove them while the steps finish
            await asyncio.to_thread(sandbox.pools.close)
        stopped.finished = activities.finished - before[0]
        stopped.cancelled = activities.cancelled - before[1]
        activities.close()
        sandbox.close()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(uses.flush)
    finally:
        stopped.lost = keeper.lost
        for task in background:
            task.cancel()
        for task in background:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _background_tasks(
    settings: Settings,
    docker_client: docker.DockerClient,
    engine: sa.Engine,
    engine_id: str,
    sandbox: Sandbox,
    uses: LayerUseRecorder,
) -> list[asyncio.Task[None]]:
    """The janitor, the layer-use writer and the hourly layer garbage collection."""
    installation = sandbox.config.installation or ""

    def view() -> LeaseView:
        return LeaseView(installation, leases.live_owners(engine, engine_id))

    async def flush() -> None:
        await asyncio.to_thread(uses.flush)

    max_age_s = settings.layer_max_age_days * 86400

    async def layer_gc() -> None:
        used = partial(recently_used, engine, engine_id)
        removed = await asyncio.to_thread(
            collect_layers, docker_client, sandbox.config, max_age_s=max_age_s, recently_used=used
        )
        if removed:
            log.warning("removed %d unused layers: %s", len(removed), ", ".join(removed))

    async def hourly_layer_gc() -> None:
        # not at start: a worker restarted in a loop must not sweep the engine each time
        await asyncio.sleep(LAYER_GC_EVERY_S)
        await run_periodically("layer gc", layer_gc, every_s=LAYER_GC_EVERY_S, log=log)

    return [
        asyncio.create_task(
            janitor(
                docker_client,
                every_s=settings.janitor_every_s,
                leases_view=view,
                after=partial(leases.expire, engine, engine_id),
            )
        ),
        asyncio.create_task(
            run_periodically("layer uses", flush, every_s=LAYER_USES_FLUSH_EVERY_S, log=log)
        ),
        asyncio.create_task(hourly_layer_gc()),
    ]
