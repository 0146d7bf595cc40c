"""Scale-out on one machine (issue 15): two Docker engines, two API processes and three workers
with separate homes on one PostgreSQL database and one Temporal dev server.

- runs spread over every worker (who ran each step: the history's identities);
- a worker killed with ``kill -9`` in the middle of a step loses no run (its step is retried on
  another worker after the heartbeat timeout) and leaves no container on its engine once a
  janitor of that engine has seen its lease expire;
- a webhook's rate limit holds across the two API processes;
- workers fetch bundles from the database, never from the API's home.

The figures (runs, spread per worker, seconds to recover) are printed and written to
``test-output/fleet/figures.json``.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import docker
import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa
from temporalio.client import Client

from sandbox.config import SandboxConfig
from sandbox.images import ImageBuilder
from step_sdk.bundle import build_bundle
from step_sdk.manifest import Manifest
from tests.fleet.figures import OUTPUT, record
from tests.fleet.history import activity_starts, running_on, spread
from tests.fleet.stack import (
    HEARTBEAT_TIMEOUT_S,
    JANITOR_EVERY_S,
    LEASE_S,
    WEBHOOK_BURST,
    Fleet,
    Worker,
    running_fleet,
)

pytestmark = [pytest.mark.temporal, pytest.mark.docker, pytest.mark.timeout(900)]

RUNS = 30
RUN_TIMEOUT_S = 240
NAP_SOURCE = b"""import time


def nap(seconds: float, tag: str) -> dict:
    time.sleep(seconds)
    return {"tag": tag}
"""


def nap_bundle() -> bytes:
    """``fleet.nap@1.0.0``: sleeps ``seconds``, answers ``{"tag": tag}``."""
    manifest = Manifest(
        name="fleet.nap",
        version="1.0.0",
        entrypoint="step:nap",
        title="Nap",
        description="Sleeps, then answers with its tag.",
        input_schema={
            "type": "object",
            "properties": {"seconds": {"type": "number"}, "tag": {"type": "string"}},
            "required": ["seconds", "tag"],
        },
        output_schema={"type": "object", "properties": {"tag": {"type": "string"}}},
    )
    return build_bundle(manifest, {"step.py": NAP_SOURCE}).data


def naps(name: str, seconds: float) -> dict[str, Any]:
    """A flow of two naps in a row, then a third after both."""
    return {
        "name": name,
        "steps": [
            {"id": "one", "uses": "fleet.nap@1.0.0",
             "with": {"seconds": seconds, "tag": "{{ trigger.tag }}"}},
            {"id": "two", "uses": "fleet.nap@1.0.0",
             "with": {"seconds": seconds, "tag": "{{ steps.one.output.tag }}"}},
        ],
        "output": {"tag": "{{ steps.two.output.tag }}"},
    }  # fmt: skip


@dataclass
class Catalogue:
    """What the tests pushed and saved through the API."""

    digest: str
    quick_flow: str
    slow_flow: str
    hook_path: str


@pytest.fixture(scope="module")
def fleet(
    docker_client: docker.DockerClient,
    sandbox_config: SandboxConfig,
    base_image: str,
) -> Iterator[Fleet]:
    """The running fleet; its processes' logs and homes stay in test-output/fleet/run/ (CI
    keeps them when a test fails)."""
    root = OUTPUT / "run"
    shutil.rmtree(root, ignore_errors=True)
    tag = ImageBuilder(docker_client, sandbox_config).tag
    with running_fleet(root, docker_client, [tag]) as running:
        yield running


@pytest_asyncio.fixture(scope="module")
async def catalogue(fleet: Fleet) -> Catalogue:
    async with fleet.client(0) as api0, fleet.client(1) as api1:
        files = {"bundle": ("nap.tgz", nap_bundle(), "application/gzip")}
        pushed = await api0.post("/v1/steps", files=files)
        assert pushed.status_code == 201, pushed.text
        flows = []
        for api, definition in [(api1, naps("quick-naps", 0.5)), (api0, naps("slow-naps", 3))]:
            saved = await api.post("/v1/flows", json={"definition": definition})
            assert saved.status_code == 201, saved.text
            flows.append(saved.json()["id"])
        hook = await api1.put(f"/v1/flows/{flows[0]}/webhook", json={})
        assert hook.status_code == 201, hook.text
    return Catalogue(pushed.json()["digest"], flows[0], flows[1], urlsplit(hook.json()["url"]).path)


@pytest_asyncio.fixture(scope="module")
async def temporal(fleet: Fleet) -> AsyncIterator[Client]:
    yield await Client.connect(fleet.temporal_address)


async def _start_runs(fleet: Fleet, flow_id: str, count: int, prefix: str) -> list[str]:
    """Start ``count`` runs through the API, alternating between the two processes."""
    run_ids = []
    async with fleet.client(0) as api0, fleet.client(1) as api1:
        for index in range(count):
            api = (api0, api1)[index % 2]
            body = {"flow_id": flow_id, "input": {"tag": f"{prefix}-{index}"}}
            started = await api.post("/v1/runs", json=body)
            assert started.status_code == 201, started.text
            run_ids.append(started.json()["run_id"])
    return run_ids


async def _wait_succeeded(fleet: Fleet, temporal: Client, run_ids: list[str]) -> None:
    """Wait for every run to end, then check through the API that each succeeded."""
    handles = [temporal.get_workflow_handle(run_id) for run_id in run_ids]
    ended = asyncio.gather(*(handle.result() for handle in handles), return_exceptions=True)
    await asyncio.wait_for(ended, RUN_TIMEOUT_S)
    async with fleet.client(0) as api:
        for run_id in run_ids:
            run = (await api.get(f"/v1/runs/{run_id}")).json()
            assert run["status"] == "succeeded", run


def _names(fleet: Fleet) -> dict[str, str]:
    return {worker.owner: worker.name for worker in fleet.workers}


async def test_runs_spread_over_every_worker(
    fleet: Fleet, catalogue: Catalogue, temporal: Client
) -> None:
    run_ids = await _start_runs(fleet, catalogue.quick_flow, RUNS, "spread")
    await _wait_succeeded(fleet, temporal, run_ids)

    counts = await spread(temporal, run_ids)
    names = _names(fleet)
    assert set(counts) <= set(names), f"steps ran under unknown identities: {counts}"
    assert sum(counts.values()) == 2 * RUNS, counts
    per_worker = {names[owner]: counts[owner] for owner in names}
    record("spread", {"runs": RUNS, "steps": 2 * RUNS, "steps_per_worker": per_worker})
    assert all(per_worker.values()), f"a worker ran no step: {per_worker}"


async def test_workers_fetch_bundles_from_the_database(
    fleet: Fleet, catalogue: Catalogue, temporal: Client
) -> None:
    hexdigest = catalogue.digest.removeprefix("sha256:")
    with fleet.database.connect() as connection:
        stored = connection.execute(
            sa.text("SELECT size_bytes FROM bundle WHERE digest = :digest"),
            {"digest": catalogue.digest},
        ).scalar_one_or_none()
    assert stored == len(nap_bundle()), "the pushed bundle is not in the database"
    api_files = [path for path in fleet.api_home.rglob("*") if hexdigest in path.name]
    assert not api_files, f"the API wrote the bundle to its home: {api_files}"
    for worker in fleet.workers:
        cached = [
            path
            for path in (worker.home / "cache" / "bundles").rglob("*")
            if hexdigest in path.name
        ]
        assert cached, f"{worker.name} ran steps but has no cached copy of the bundle"


async def _a_step_running_on(temporal: Client, run_ids: list[str], owner: str) -> str:
    """Poll until one of the runs has an activity started by ``owner``; that run's id."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        for run_id in run_ids:
            if owner in await running_on(temporal, run_id):
                return run_id
        await asyncio.sleep(0.2)
    raise AssertionError(f"no step of these runs started on {owner}")


async def test_a_killed_worker_loses_no_run_and_leaves_no_container(
    fleet: Fleet, catalogue: Catalogue, temporal: Client
) -> None:
    victim = next(worker for worker in fleet.workers if worker.name == "worker-b")
    neighbour = next(worker for worker in fleet.workers if worker.name == "worker-c")
    assert victim.engine_id == neighbour.engine_id  # its janitor is the one that cleans up
    run_ids = await _start_runs(fleet, catalogue.slow_flow, 9, "kill")
    victim_run = await _a_step_running_on(temporal, run_ids, victim.owner)
    containers = fleet.containers_of(victim.owner, victim.engine_id)
    assert containers, "the worker runs a step but has no container on its engine"

    killed_at = time.time()
    victim.child.kill_hard()
    cleanup = asyncio.create_task(_containers_gone(fleet, victim, neighbour))
    await _wait_succeeded(fleet, temporal, run_ids)
    recovered_s = time.time() - killed_at
    retried = [
        start
        for start in await activity_starts(temporal, victim_run)
        if start.attempt > 1 and start.identity != victim.owner
    ]
    assert retried, "the killed worker's step was not retried on another worker"
    # the runs API names the worker of each execution's latest attempt: the history's identities
    async with fleet.client(0) as api:
        run = (await api.get(f"/v1/runs/{victim_run}")).json()
    named = {
        execution["worker"] for step in run["steps"].values() for execution in step["executions"]
    }
    assert named == {start.identity for start in await activity_starts(temporal, victim_run)}
    assert {start.identity for start in retried} <= named
    cleaned_s = await asyncio.wait_for(cleanup, 60) - killed_at
    # the same janitor pass deletes the expired lease, just after the containers
    deadline = time.monotonic() + 30
    while _has_lease(fleet, victim.owner):
        assert time.monotonic() < deadline, "the dead worker's lease was never deleted"
        await asyncio.sleep(0.25)
    record(
        "kill",
        {
            "runs": len(run_ids),
            "killed": victim.name,
            "its_containers_at_kill": len(containers),
            "heartbeat_timeout_s": HEARTBEAT_TIMEOUT_S,
            "lease_s": LEASE_S,
            "janitor_every_s": JANITOR_EVERY_S,
            "step_retried_after_s": round(min(start.at for start in retried) - killed_at, 1),
            "retried_on": sorted({_names(fleet)[start.identity] for start in retried}),
            "containers_gone_after_s": round(cleaned_s, 1),
            "all_runs_done_after_s": round(recovered_s, 1),
        },
    )


def _has_lease(fleet: Fleet, owner: str) -> bool:
    with fleet.database.connect() as connection:
        found = connection.execute(
            sa.text("SELECT id FROM worker_lease WHERE id = :owner"), {"owner": owner}
        ).scalar_one_or_none()
    return found is not None


async def _containers_gone(fleet: Fleet, victim: Worker, neighbour: Worker) -> float:
    """Poll the victim's engine until none of its containers is left; the Unix time then."""
    while await asyncio.to_thread(fleet.containers_of, victim.owner, victim.engine_id):
        neighbour.child.check_alive()  # its janitor is the one that removes them
        await asyncio.sleep(0.25)
    return time.time()


async def test_webhook_rate_limit_holds_across_api_processes(
    fleet: Fleet, catalogue: Catalogue, temporal: Client
) -> None:
    answers = []
    async with httpx.AsyncClient(timeout=30) as http:
        for index in range(3 * WEBHOOK_BURST):
            base = fleet.apis[index % 2]
            delivered = await http.post(f"{base}{catalogue.hook_path}", json={"tag": f"h{index}"})
            answers.append(delivered)
    codes = [answer.status_code for answer in answers]
    accepted = [answer.json()["run_id"] for answer in answers if answer.status_code == 202]
    record("webhook_limit", {"burst": WEBHOOK_BURST, "deliveries": len(codes), "codes": codes})
    await _wait_succeeded(fleet, temporal, accepted)
    assert len(accepted) == WEBHOOK_BURST, codes
    assert codes.count(429) == len(codes) - WEBHOOK_BURST, codes
