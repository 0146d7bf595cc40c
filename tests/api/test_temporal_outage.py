"""While Temporal is unreachable, routes that need it answer 503 with Retry-After, never 404/500.

The test starts a Temporal dev server of its own and stops it (the session's server, which
other tests use, is never touched); the API's client gives up after about half a second instead
of Temporal's default ten, to keep the test short.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest_asyncio
from temporalio.client import Client
from temporalio.service import RetryConfig
from temporalio.testing import WorkflowEnvironment

from step_sdk.bundle import Bundle
from tests.api.helpers import WorkspaceKey, assert_error, insert_flow, insert_step, new_workspace
from tests.conftest import temporal_binary
from ui_api.app import create_app
from ui_api.db import create_engine
from ui_api.runs import search_attributes
from ui_api.services import Services, build_services

SLUG_FLOW = {
    "name": "slug",
    "steps": [{"id": "clean", "uses": "text.slugify@1.0.0", "with": {"text": "{{ trigger.t }}"}}],
}


@dataclass
class Outage:
    http: httpx.AsyncClient
    services: Services
    environment: WorkflowEnvironment


@pytest_asyncio.fixture
async def outage(api_services: Services, tmp_path: Path) -> AsyncIterator[Outage]:
    """The API over a Temporal dev server of its own, which the test may stop."""
    environment = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        dev_server_log_level="error",
        dev_server_extra_args=search_attributes.dev_server_flags(),
    )
    client = await Client.connect(
        environment.client.service_client.config.target_host,
        namespace=environment.client.namespace,
        retry_config=RetryConfig(max_elapsed_time_millis=500, max_retries=3),
    )
    settings = api_services.settings.model_copy(
        update={"task_queue": f"outage-{secrets.token_hex(4)}"}  # no worker: runs stay running
    )
    services = build_services(
        settings,
        client,
        engine=create_engine(settings.database),
        bundles=api_services.bundles,
    )
    transport = httpx.ASGITransport(app=create_app(services))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://stepwell.test") as http:
            yield Outage(http, services, environment)
    finally:
        await environment.shutdown()
        services.engine.dispose()


def assert_unavailable(answer: httpx.Response) -> None:
    error = assert_error(answer, 503, "unavailable")
    assert answer.headers["Retry-After"].isdigit(), answer.headers
    assert "Temporal" in error["message"], error


async def test_routes_that_need_temporal_answer_503_while_it_is_down(
    outage: Outage, example_bundles: list[Bundle]
) -> None:
    http, services = outage.http, outage.services
    workspace: WorkspaceKey = new_workspace(services)
    slugify = next(b for b in example_bundles if b.manifest.name == "text.slugify")
    insert_step(services, workspace.workspace_id, slugify)
    flow = insert_flow(services, workspace.workspace_id, SLUG_FLOW)
    auth = workspace.headers
    started = await http.post("/v1/runs", json={"flow_id": flow.id, "input": {}}, headers=auth)
    assert started.status_code == 201, started.text
    run_id = started.json()["run_id"]
    hook = await http.put(f"/v1/flows/{flow.id}/webhook", json={}, headers=auth)
    hook_path = httpx.URL(hook.json()["url"]).path
    schedule = await http.post(
        f"/v1/flows/{flow.id}/schedules", json={"interval_s": 3600}, headers=auth
    )
    assert schedule.status_code == 201, schedule.text
    schedule_id = schedule.json()["id"]

    await outage.environment.shutdown()

    for method, path, body in [
        ("GET", f"/v1/runs/{run_id}", None),  # exists: must never be claimed missing
        ("GET", "/v1/runs/run_never_was", None),  # unknown: cannot be told apart while down
        ("GET", f"/v1/runs/{run_id}/events", None),
        ("GET", "/v1/runs", None),
        ("POST", "/v1/runs", {"flow_id": flow.id, "input": {}}),
        ("POST", f"/v1/runs/{run_id}/cancel", None),
        ("POST", f"/v1/runs/{run_id}/rerun", None),
        ("POST", f"/v1/flows/{flow.id}/schedules", {"interval_s": 7200}),
        ("GET", f"/v1/schedules/{schedule_id}", None),
        ("POST", f"/v1/schedules/{schedule_id}/pause", None),
        ("POST", f"/v1/schedules/{schedule_id}/trigger", None),
        ("PUT", f"/v1/flows/{flow.id}", {"definition": {**SLUG_FLOW, "description": "v2"}}),
        ("POST", f"/v1/flows/{flow.id}/disable", None),
        ("POST", hook_path, {"t": "x"}),
    ]:
        answer = await http.request(method, path, json=body, headers=auth)
        assert answer.status_code == 503, (method, path, answer.text)
        assert_unavailable(answer)
    # what needs only the database still works, and the refused changes left nothing behind
    shown = (await http.get(f"/v1/flows/{flow.id}", headers=auth)).json()
    assert shown["latest_version"] == 1 and shown["enabled"], shown
    schedules = (await http.get(f"/v1/flows/{flow.id}/schedules", headers=auth)).json()
    assert [(s["id"], s["paused"]) for s in schedules] == [(schedule_id, False)]
