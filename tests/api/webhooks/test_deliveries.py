"""Webhook deliveries: a delivery starts a run (once), unknown tokens look alike, public in OpenAPI.

Deliveries go to an app whose runs queue on a task queue no worker polls (runs are started in
Temporal and checked there, never executed), except the end-to-end test, which uses the real
worker.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from step_sdk.bundle import Bundle
from tests.api.helpers import WorkspaceKey, assert_error, insert_flow, insert_step
from tests.api.webhooks.helpers import (
    SLUG_FLOW,
    UNKNOWN,
    Hooks,
    issue,
    path_of,
    runs_of,
    signed_post,
    started_trigger,
)
from ui_api.flows.models import Flow
from ui_api.services import Services


async def test_a_delivery_starts_a_run_with_the_body_as_trigger(
    hooks: Hooks, api_services: Services, workspace: WorkspaceKey, flow: Flow
) -> None:
    issued = await issue(hooks.http, workspace, flow.id)
    answer = await hooks.http.post(path_of(issued), json={"t": "Hello", "n": [1, 2]})
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["duplicate"] is False and body["run_id"].startswith("run_")
    assert answer.headers["RateLimit-Limit"] == str(api_services.settings.webhook_burst)
    assert "RateLimit-Remaining" in answer.headers and "RateLimit-Reset" in answer.headers

    temporal = api_services.temporal
    assert await started_trigger(temporal, body["run_id"]) == {"t": "Hello", "n": [1, 2]}
    described = await temporal.get_workflow_handle(body["run_id"]).describe()
    attributes = {pair.key.name: pair.value for pair in described.typed_search_attributes}
    assert attributes["StepwellTrigger"] == "webhook"
    assert attributes["StepwellWorkspace"] == workspace.workspace_id
    assert described.task_queue == hooks.services.settings.task_queue
    assert hooks.delivered("accepted") == 1
    assert (
        hooks.services.metrics.registry.get_sample_value(
            "stepwell_runs_started_total", {"trigger": "webhook"}
        )
        == 1
    )


@pytest.mark.parametrize(
    "token",
    [
        "nope",
        "whk_" + "0" * 20 + "." + "x" * 43,
        "{id}.",
        "{id}.{wrong}",
        "{id}.{secret}extra",
        "whk_" + "1" * 20 + ".{secret}",
        "{id}.%C3%A9t%C3%A9",
        "{id}." + "a" * 5000,
    ],
)
async def test_wrong_tokens_all_answer_the_same_404(
    hooks: Hooks, workspace: WorkspaceKey, flow: Flow, token: str
) -> None:
    issued = await issue(hooks.http, workspace, flow.id)
    webhook_id, secret = path_of(issued).rsplit("/", 1)[1].split(".")
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    path = "/v1/hooks/" + token.format(id=webhook_id, secret=secret, wrong=wrong)
    error = assert_error(await hooks.http.post(path, json={"t": "x"}), 404, "not_found")
    assert error["message"] == UNKNOWN
    assert hooks.delivered("rejected") == 1 and hooks.delivered("accepted") == 0


async def test_redeliveries_start_the_run_once(
    hooks: Hooks, api_services: Services, workspace: WorkspaceKey, flow: Flow, slugify: Bundle
) -> None:
    issued = await issue(hooks.http, workspace, flow.id)
    path = path_of(issued)

    async def fire(headers: dict[str, str]) -> dict[str, Any]:
        answer = await hooks.http.post(path, json={"t": "x"}, headers=headers)
        assert answer.status_code == 202, answer.text
        body: dict[str, Any] = answer.json()
        return body

    first = await fire({"Idempotency-Key": "order-17"})
    again = await fire({"Idempotency-Key": "order-17"})
    assert first["duplicate"] is False and again == {"run_id": first["run_id"], "duplicate": True}
    github = [await fire({"X-GitHub-Delivery": "72d3162e"}) for _ in range(2)]
    assert github[1] == {"run_id": github[0]["run_id"], "duplicate": True}
    other = await fire({"Idempotency-Key": "order-18"})
    plain = await fire({})
    assert len({first["run_id"], github[0]["run_id"], other["run_id"], plain["run_id"]}) == 4

    expected = sorted({first["run_id"], github[0]["run_id"], other["run_id"], plain["run_id"]})
    assert await runs_of(api_services.temporal, flow.id, 4) == expected
    assert hooks.delivered("accepted") == 4 and hooks.delivered("duplicate") == 2

    # keys belong to one webhook: the same key on another flow's webhook is another run
    second_flow = insert_flow(api_services, workspace.workspace_id, SLUG_FLOW)
    elsewhere = await issue(hooks.http, workspace, second_flow.id)
    answer = await hooks.http.post(
        path_of(elsewhere), json={"t": "x"}, headers={"Idempotency-Key": "order-17"}
    )
    assert answer.json()["run_id"] != first["run_id"] and answer.json()["duplicate"] is False


async def test_an_overlong_idempotency_key_is_refused(
    hooks: Hooks, workspace: WorkspaceKey, flow: Flow
) -> None:
    issued = await issue(hooks.http, workspace, flow.id)
    answer = await hooks.http.post(
        path_of(issued), json={"t": "x"}, headers={"Idempotency-Key": "k" * 201}
    )
    error = assert_error(answer, 422, "invalid")
    assert error["details"][0]["pointer"] == "/header/Idempotency-Key"
    assert "200" in error["message"]


async def test_a_disabled_flow_refuses_deliveries(
    hooks: Hooks, api_services: Services, workspace: WorkspaceKey, slugify: Bundle
) -> None:
    insert_step(api_services, workspace.workspace_id, slugify)
    disabled = insert_flow(api_services, workspace.workspace_id, SLUG_FLOW, enabled=False)
    path = path_of(await issue(hooks.http, workspace, disabled.id))
    error = assert_error(await hooks.http.post(path, json={"t": "x"}), 409, "conflict")
    assert "disabled" in error["message"]


async def test_a_flow_with_unpushed_steps_refuses_deliveries(
    hooks: Hooks, api_services: Services, workspace: WorkspaceKey
) -> None:
    unpushed = insert_flow(api_services, workspace.workspace_id, SLUG_FLOW)
    path = path_of(await issue(hooks.http, workspace, unpushed.id))
    error = assert_error(await hooks.http.post(path, json={"t": "x"}), 409, "conflict")
    assert "not pushed" in error["message"]


async def test_openapi_documents_deliveries_as_public(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/v1/openapi.json")).json()["paths"]
    delivery = paths["/v1/hooks/{token}"]["post"]
    assert "security" not in delivery
    assert "application/json" in delivery["requestBody"]["content"]
    headers = {p["name"] for p in delivery["parameters"] if p["in"] == "header"}
    assert {"Idempotency-Key", "X-Stepwell-Signature", "X-Stepwell-Timestamp"} <= headers
    assert set(delivery["responses"]) >= {"202", "401", "404", "409", "413", "415", "429"}
    manage = paths["/v1/flows/{flow_id}/webhook"]
    assert set(manage) == {"put", "get", "delete"}
    assert manage["put"]["security"] == [{"HTTPBearer": []}]


# --- end to end ------------------------------------------------------------------------------


async def test_a_signed_delivery_runs_the_flow_to_its_result(
    client: httpx.AsyncClient,
    api_services: Services,
    api_worker: str,
    workspace: WorkspaceKey,
    flow: Flow,
) -> None:
    issued = await issue(client, workspace, flow.id, signed=True)
    body, headers = signed_post(issued["signing_secret"], {"t": "Hello Webhook World"})
    headers["Idempotency-Key"] = "e2e-1"
    answer = await client.post(path_of(issued), content=body, headers=headers)
    assert answer.status_code == 202, answer.text
    handle = api_services.temporal.get_workflow_handle(answer.json()["run_id"])
    result = await asyncio.wait_for(handle.result(), timeout=120)
    assert result["output"] == {"slug": "hello-webhook-world"}
