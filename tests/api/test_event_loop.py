"""No route makes the event loop wait on the database, and concurrent writers do not freeze the API.

Every SQL statement the app runs is watched: one issued on the thread that runs the event loop
(that is, a synchronous database call inside an ``async def`` handler) fails the test. Every route
of the OpenAPI document is driven, with real objects behind its path parameters.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from temporalio.service import RPCError

from tests.api.helpers import WorkspaceKey, assert_error, new_workspace
from tests.api.step_bundles import bundle_bytes, push
from ui_api.services import Services

pytestmark = pytest.mark.temporal

FLOW = {
    "name": "loop",
    "steps": [{"id": "echo", "uses": "test.echo@1.0.0", "with": {"text": "{{ trigger.t }}"}}],
}


@contextmanager
def statements_on_the_loop(services: Services) -> Iterator[list[str]]:
    """Collect every statement the engine runs on the thread of the running event loop."""
    loop_thread = threading.get_ident()
    caught: list[str] = []

    def watch(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.get_ident() == loop_thread:
            caught.append(statement.split("\n")[0][:120])

    sa.event.listen(services.engine, "before_cursor_execute", watch)
    try:
        yield caught
    finally:
        sa.event.remove(services.engine, "before_cursor_execute", watch)


async def _objects(client: httpx.AsyncClient, workspace: WorkspaceKey) -> dict[str, str]:
    """A step, a flow with a webhook and a schedule, a secret, a key and a run to aim at."""
    headers = workspace.headers
    assert (await push(client, workspace, bundle_bytes())).status_code == 201
    flow = (await client.post("/v1/flows", json={"definition": FLOW}, headers=headers)).json()
    hook = (await client.put(f"/v1/flows/{flow['id']}/webhook", json={}, headers=headers)).json()
    schedule = (
        await client.post(
            f"/v1/flows/{flow['id']}/schedules", json={"interval_s": 3600}, headers=headers
        )
    ).json()
    key = (await client.post("/v1/keys", json={"name": "spare"}, headers=headers)).json()
    run = (
        await client.post("/v1/runs", json={"flow_id": flow["id"], "input": {}}, headers=headers)
    ).json()
    return {
        "flow_id": flow["id"],
        "token": hook["url"].rsplit("/", 1)[1],
        "schedule_id": schedule["id"],
        "key_id": key["id"],
        "run_id": run["run_id"],
        "name": "test.echo",
        "version": "1.0.0",
    }


BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/flows"): {"definition": {**FLOW, "name": "loop-2"}},
    ("POST", "/v1/flows/validate"): {"definition": FLOW},
    ("PUT", "/v1/flows/{flow_id}"): {"definition": FLOW},
    ("POST", "/v1/flows/{flow_id}/schedules"): {"cron": "0 9 * * *"},
    ("PUT", "/v1/flows/{flow_id}/webhook"): {},
    ("POST", "/v1/hooks/{token}"): {"t": "hi"},
    ("POST", "/v1/keys"): {"name": "another"},
    ("POST", "/v1/runs"): None,  # filled in with the flow id
    ("PATCH", "/v1/schedules/{schedule_id}"): {"note": "changed"},
    ("PUT", "/v1/secrets/{name}"): {"value": "a-long-enough-secret"},
    ("POST", "/v1/steps/{name}/versions/{version}/deprecate"): {"message": "old"},
}
# A delivery goes before the webhook's URL is rotated; disabling goes late (a disabled flow
# refuses runs); destructive calls go last, in this order.
FIRST = [("POST", "/v1/hooks/{token}")]
LAST = [
    ("POST", "/v1/flows/{flow_id}/disable"),
    ("POST", "/v1/flows/{flow_id}/enable"),
    ("DELETE", "/v1/steps/{name}/versions/{version}/deprecation"),
    ("DELETE", "/v1/schedules/{schedule_id}"),
    ("DELETE", "/v1/flows/{flow_id}/webhook"),
    ("DELETE", "/v1/secrets/{name}"),
    ("DELETE", "/v1/keys/{key_id}"),
    ("DELETE", "/v1/flows/{flow_id}"),
]


def _routes(app: FastAPI) -> list[tuple[str, str]]:
    paths = app.openapi()["paths"]
    calls = [(method.upper(), path) for path, item in paths.items() for method in item]
    middle = [c for c in calls if c not in FIRST + LAST]
    return FIRST + sorted(middle, key=lambda c: c[0] != "GET") + LAST


async def test_no_route_runs_a_database_call_on_the_event_loop(
    app: FastAPI,
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    api_services: Services,
) -> None:
    ids = await _objects(client, workspace)
    with contextlib.suppress(RPCError):  # a worker of another test may have finished it already
        await api_services.temporal.get_workflow_handle(ids["run_id"]).terminate("test: ended")
    answers: dict[str, int] = {}
    with statements_on_the_loop(api_services) as caught:
        for method, path in _routes(app):
            values = {**ids, "version": "1"} if path.startswith("/v1/flows") else ids
            if "artifacts" in path:  # no artifact of that name: the lookup runs, answers 404
                values = {**values, "step_id": "a", "name": "missing.png"}
            url = path.format(**{**values, "name": "API_TOKEN"} if "secrets" in path else values)
            body = BODIES.get((method, path))
            if (method, path) == ("POST", "/v1/runs"):
                body = {"flow_id": ids["flow_id"], "input": {"t": "x"}}
            if (method, path) == ("POST", "/v1/steps"):
                response = await push(client, workspace, bundle_bytes(version="1.0.1"))
            else:
                response = await client.request(
                    method, url, json=body, headers=workspace.headers, timeout=60
                )
            answers[f"{method} {path}"] = response.status_code
    assert caught == [], caught
    # The routes really ran and succeeded (the run had ended, so cancelling it is a conflict).
    refused = {call: status for call, status in answers.items() if not 200 <= status < 300}
    assert refused == {
        "POST /v1/runs/{run_id}/cancel": 409,
        "GET /v1/runs/{run_id}/artifacts/{step_id}/{name}": 404,
    }, answers


async def test_two_concurrent_disables_answer_at_once_and_agree(
    client: httpx.AsyncClient, api_services: Services
) -> None:
    """The issue's case: a flow with a schedule, disabled twice at the same moment. Both answer
    with the right result well under a second, and the API stays responsive meanwhile."""
    workspace = new_workspace(api_services)
    ids = await _objects(client, workspace)
    headers = workspace.headers
    path = f"/v1/flows/{ids['flow_id']}/disable"

    async def timed(coroutine: Any) -> tuple[httpx.Response, float]:
        start = time.monotonic()
        response = await coroutine
        return response, time.monotonic() - start

    (first, t1), (second, t2), (health, t3) = await asyncio.gather(
        timed(client.post(path, headers=headers)),
        timed(client.post(path, headers=headers)),
        timed(client.get("/healthz")),
    )
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert first.json()["enabled"] is second.json()["enabled"] is False
    assert health.status_code == 200
    assert max(t1, t2, t3) < 1.0, (t1, t2, t3)
    schedule = (await client.get(f"/v1/schedules/{ids['schedule_id']}", headers=headers)).json()
    assert schedule["active"] is False and schedule["next_fire_times"] == []
    run = await client.post(
        "/v1/runs", json={"flow_id": ids["flow_id"], "input": {}}, headers=headers
    )
    assert_error(run, 409)
