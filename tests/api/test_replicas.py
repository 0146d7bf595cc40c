"""Two real ``stepwell api`` processes on one PostgreSQL database behave as one API.

Both processes (own ports, as behind a load balancer) share the session's Temporal dev server
and a database of this module's own; requests alternate between them. Each limit is a tiny
burst with a refill of one token per ~3 hours, so nothing refills while the test runs.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from step_sdk.bundle import Bundle
from stepwell_settings import Settings
from tests.api.conftest import _postgres_database
from tests.api.helpers import insert_flow, insert_step
from tests.api.schedules.helpers import SLUG_FLOW, action_input, describe_schedule
from tests.cli.test_up import free_port
from ui_api.auth.service import create_key, create_workspace
from ui_api.db import session_scope
from ui_api.flows.models import Flow
from ui_api.services import Services, build_services

pytestmark = [pytest.mark.temporal]
STEPWELL = str(Path(sys.executable).parent / "stepwell")
BURST = 3
SLOW = "0.0001"  # tokens per second: one back after ~2.8 hours


@dataclass
class Replicas:
    services: Services  # the test's own view of the same database and Temporal
    urls: list[str]
    workspace_id: str

    def new_key(self) -> dict[str, str]:
        """Headers with a key of its own (a fresh bucket) in the test workspace."""
        with session_scope(self.services.engine) as session:
            _, key = create_key(session, self.workspace_id)
        return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def replicas_database() -> Iterator[str]:
    yield from _postgres_database()


async def _start(port: int, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        STEPWELL, "api", "--host", "127.0.0.1", "--port", str(port), env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def _healthy(http: httpx.AsyncClient, url: str, process: asyncio.subprocess.Process) -> None:
    deadline = asyncio.get_running_loop().time() + 60
    while asyncio.get_running_loop().time() < deadline:
        try:
            if (await http.get(f"{url}/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.returncode is None, "stepwell api exited"
        await asyncio.sleep(0.1)
    pytest.fail(f"{url} never became healthy")


@pytest_asyncio.fixture
async def replicas(
    temporal: WorkflowEnvironment,
    replicas_database: str,
    tmp_path: Path,
    example_bundles: list[Bundle],
) -> AsyncIterator[Replicas]:
    address = temporal.client.service_client.config.target_host
    env = {
        **os.environ,
        "STEPWELL_HOME": str(tmp_path / "home"),
        "STEPWELL_DATABASE_URL": replicas_database,
        "STEPWELL_TEMPORAL_ADDRESS": address,
        "STEPWELL_API_BURST": str(BURST),
        "STEPWELL_API_RATE_PER_S": SLOW,
        "STEPWELL_WEBHOOK_BURST": str(BURST),
        "STEPWELL_WEBHOOK_RATE_PER_S": SLOW,
    }
    settings = Settings(home=tmp_path / "home", database_url=replicas_database)
    services = build_services(settings, temporal.client)
    with session_scope(services.engine) as session:
        workspace = create_workspace(session, f"replicas-{secrets.token_hex(4)}")
    slugify = next(b for b in example_bundles if b.manifest.name == "text.slugify")
    insert_step(services, workspace.id, slugify)
    ports = [free_port(), free_port()]
    processes = [await _start(port, env) for port in ports]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            for url, process in zip(urls, processes, strict=True):
                await _healthy(http, url, process)
        yield Replicas(services, urls, workspace.id)
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
        for process in processes:
            await asyncio.wait_for(process.communicate(), 60)
        services.schedule_locks.close()
        services.engine.dispose()


async def test_a_keys_burst_is_spent_once_across_both_processes(replicas: Replicas) -> None:
    headers = replicas.new_key()
    async with httpx.AsyncClient(timeout=10) as http:
        answers = [
            await http.get(f"{url}/v1/workspace", headers=headers)
            for url in itertools.islice(itertools.cycle(replicas.urls), 2 * BURST + 2)
        ]
    codes = [a.status_code for a in answers]
    assert codes == [200] * BURST + [429] * (BURST + 2), [a.text for a in answers]
    for refused in answers[BURST:]:
        assert int(refused.headers["Retry-After"]) > 3600  # one token at 0.0001/s
        assert refused.headers["RateLimit-Remaining"] == "0"
    assert [a.headers["RateLimit-Remaining"] for a in answers[:BURST]] == ["2", "1", "0"]
    # another key has its own bucket, on either process
    assert (await _get(replicas.urls[1], replicas.new_key())).status_code == 200


async def _get(url: str, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.get(f"{url}/v1/workspace", headers=headers)


async def test_a_webhooks_burst_is_spent_once_across_both_processes(replicas: Replicas) -> None:
    flow = insert_flow(replicas.services, replicas.workspace_id, SLUG_FLOW)
    async with httpx.AsyncClient(timeout=10) as http:
        issued = await http.put(
            f"{replicas.urls[0]}/v1/flows/{flow.id}/webhook",
            json={"signed": False},
            headers=replicas.new_key(),
        )
        assert issued.status_code == 201, issued.text
        path = httpx.URL(issued.json()["url"]).path
        answers = []
        for url in itertools.islice(itertools.cycle(replicas.urls), 2 * BURST + 2):
            answers.append(await http.post(f"{url}{path}", json={"t": "Hello"}))
    codes = [a.status_code for a in answers]
    assert codes == [202] * BURST + [429] * (BURST + 2), [a.text for a in answers]
    assert all(int(a.headers["Retry-After"]) > 3600 for a in answers[BURST:])
    assert len({a.json()["run_id"] for a in answers[:BURST]}) == BURST


async def test_simultaneous_schedule_changes_through_both_end_as_the_last_commit(
    replicas: Replicas,
) -> None:
    flow = insert_flow(replicas.services, replicas.workspace_id, SLUG_FLOW)
    first, second = replicas.urls
    renamed: dict[str, Any] = {**SLUG_FLOW, "output": {"other": "{{ steps.clean.output }}"}}
    flow_path = f"/v1/flows/{flow.id}"
    async with httpx.AsyncClient(timeout=60) as http:
        created = await http.post(
            f"{first}{flow_path}/schedules", json={"interval_s": 3600}, headers=replicas.new_key()
        )
        assert created.status_code == 201, created.text
        schedule_id = created.json()["id"]
        for round_ in range(6):
            calls = [
                (first, "PUT", flow_path, {"definition": SLUG_FLOW}),
                (second, "PUT", flow_path, {"definition": renamed}),
                (first, "POST", f"{flow_path}/disable", None),
                (second, "POST", f"{flow_path}/enable", None),
                (second, "POST", f"/v1/schedules/{schedule_id}/pause", None),
                (first, "POST", f"/v1/schedules/{schedule_id}/resume", None),
            ]
            answers = await asyncio.gather(
                *(
                    http.request(method, f"{url}{path}", json=body, headers=replicas.new_key())
                    for url, method, path, body in calls
                )
            )
            assert all(a.status_code in (200, 201, 409) for a in answers), [a.text for a in answers]
            await _agree(http, replicas, flow, schedule_id, round_)


async def _agree(
    http: httpx.AsyncClient, replicas: Replicas, flow: Flow, schedule_id: str, round_: int
) -> None:
    """Temporal's schedule is as the database's last committed change says."""
    headers = replicas.new_key()
    stored = await http.get(f"{replicas.urls[round_ % 2]}/v1/flows/{flow.id}", headers=headers)
    row = await http.get(f"{replicas.urls[round_ % 2]}/v1/schedules/{schedule_id}", headers=headers)
    assert stored.status_code == 200 and row.status_code == 200, (stored.text, row.text)
    described = await describe_schedule(replicas.services, schedule_id)
    assert described.schedule.state.paused is (not row.json()["active"]), row.json()
    run_input = await action_input(replicas.services, described)
    assert run_input.flow_version == stored.json()["latest_version"], stored.json()
