"""Webhook triggers: managing a flow's webhook, and deliveries attacked every way we know.

Deliveries go to an app whose runs queue on a task queue no worker polls (runs are started in
Temporal and checked there, never executed), except the end-to-end test, which uses the real
worker.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlmodel import select
from temporalio.client import Client

from step_sdk.bundle import Bundle
from tests.api.conftest import WorkspaceKey, assert_error, insert_flow, insert_step
from ui_api.app import create_app
from ui_api.auth.ratelimit import RateLimiter
from ui_api.db import normalize_url, session_scope
from ui_api.flows.models import Flow
from ui_api.metrics import Metrics
from ui_api.services import Services
from ui_api.webhooks import signatures
from ui_api.webhooks.models import Webhook

SLUG_FLOW = {
    "name": "hook",
    "steps": [{"id": "clean", "uses": "text.slugify@1.0.0", "with": {"text": "{{ trigger.t }}"}}],
    "output": {"slug": "{{ steps.clean.output.slug }}"},
}
UNKNOWN = "no webhook at this URL (unknown or revoked token)"


@dataclass
class Hooks:
    """An API whose runs only queue, with its own metrics (and limits, if asked)."""

    http: httpx.AsyncClient
    services: Services

    def delivered(self, outcome: str) -> float:
        value = self.services.metrics.registry.get_sample_value(
            "stepwell_webhook_deliveries_total", {"outcome": outcome}
        )
        return value or 0.0


def variant(services: Services, settings: dict[str, Any] | None = None, **fields: Any) -> Services:
    changes = {"task_queue": f"hooks-idle-{secrets.token_hex(4)}", **(settings or {})}
    return Services(
        **{
            **services.__dict__,
            "settings": services.settings.model_copy(update=changes),
            "metrics": Metrics(),
            **fields,
        }
    )


@asynccontextmanager
async def serving(services: Services) -> AsyncIterator[Hooks]:
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://stepwell.test") as http:
        yield Hooks(http, services)


@pytest_asyncio.fixture
async def hooks(api_services: Services) -> AsyncIterator[Hooks]:
    async with serving(variant(api_services)) as made:
        yield made


@pytest.fixture
def slugify(example_bundles: list[Bundle]) -> Bundle:
    return next(b for b in example_bundles if b.manifest.name == "text.slugify")


@pytest.fixture
def flow(api_services: Services, workspace: WorkspaceKey, slugify: Bundle) -> Flow:
    insert_step(api_services, workspace.workspace_id, slugify)
    return insert_flow(api_services, workspace.workspace_id, SLUG_FLOW)


async def issue(
    http: httpx.AsyncClient, workspace: WorkspaceKey, flow_id: str, *, signed: bool = False
) -> dict[str, Any]:
    answer = await http.put(
        f"/v1/flows/{flow_id}/webhook", json={"signed": signed}, headers=workspace.headers
    )
    assert answer.status_code in (200, 201), answer.text
    issued: dict[str, Any] = answer.json()
    return issued


def path_of(issued: dict[str, Any]) -> str:
    return httpx.URL(issued["url"]).path


def signed_post(
    secret: str, payload: Any, *, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    headers.update(signatures.signature_headers(secret, body, timestamp))
    return body, headers


async def runs_of(temporal: Client, flow_id: str, expected: int) -> list[str]:
    """The ids of the flow's runs in Temporal visibility, once it shows ``expected`` of them."""
    query = f"StepwellFlow = '{flow_id}'"
    ids: list[str] = []
    for _ in range(100):
        ids = [execution.id async for execution in temporal.list_workflows(query)]
        if len(ids) >= expected:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # anything extra would have had time to show up too
    return sorted([execution.id async for execution in temporal.list_workflows(query)])


async def started_trigger(temporal: Client, run_id: str) -> Any:
    history = await temporal.get_workflow_handle(run_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    [run_input] = await temporal.data_converter.decode(started.input.payloads)
    return run_input["trigger"]


# --- signatures (pure) ------------------------------------------------------------------------


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    secret, body = "whsec_test", b'{"a": 1}'
    expected = hmac.new(secret.encode(), b'1700000000.{"a": 1}', hashlib.sha256).hexdigest()
    assert signatures.sign(secret, 1700000000, body) == f"sha256={expected}"
    signatures.verify(
        secret, body, "1700000000", f"sha256={expected.upper()}", tolerance_s=5, now=1700000004
    )


@pytest.mark.parametrize(
    ("timestamp", "signature", "fragment"),
    [
        (None, "good", "missing X-Stepwell-Timestamp"),
        ("1700000000", None, "missing X-Stepwell-Signature"),
        ("17e8", "good", "unix seconds"),
        ("-1700000000", "good", "unix seconds"),
        ("1700000000", "md5=abc", "64 hex digits"),
        ("1700000000", "sha256=" + "0" * 64, "does not match"),
        ("1700000001", "good", "does not match"),  # the timestamp is part of what is signed
    ],
)
def test_signature_problems_are_named(
    timestamp: str | None, signature: str | None, fragment: str
) -> None:
    good = signatures.sign("whsec_test", 1700000000, b"{}")
    with pytest.raises(signatures.SignatureError, match=fragment):
        signatures.verify(
            "whsec_test",
            b"{}",
            timestamp,
            good if signature == "good" else signature,
            tolerance_s=300,
            now=1700000000,
        )


# --- management -------------------------------------------------------------------------------


async def test_a_webhook_is_created_then_rotated(
    client: httpx.AsyncClient, api_services: Services, workspace: WorkspaceKey, flow: Flow
) -> None:
    created = await client.put(
        f"/v1/flows/{flow.id}/webhook", json={"signed": False}, headers=workspace.headers
    )
    assert created.status_code == 201, created.text
    first = created.json()
    assert first["signed"] is False and first["signing_secret"] is None
    assert first["url"].startswith(api_services.settings.public_url + "/v1/hooks/whk_")
    assert len(first["url"].rsplit(".", 1)[1]) >= 43  # 32 random bytes, base64url

    rotated = await client.put(
        f"/v1/flows/{flow.id}/webhook", json={"signed": True}, headers=workspace.headers
    )
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["url"] != first["url"] and second["signed"] is True
    assert second["signing_secret"].startswith("whsec_")
    assert "X-Stepwell-Signature" in second["signature_help"]

    shown = await client.get(f"/v1/flows/{flow.id}/webhook", headers=workspace.headers)
    assert shown.status_code == 200
    assert shown.json() == {
        "flow_id": flow.id,
        "url": second["url"],
        "signed": True,
        "created_at": second["created_at"],
    }
    assert second["signing_secret"] not in shown.text
    with session_scope(api_services.engine) as session:
        row = session.exec(select(Webhook).where(Webhook.flow_id == flow.id)).one()
        assert row.signing_secret is not None
        assert second["signing_secret"].encode() not in row.signing_secret  # sealed at rest

    # the old URL is dead at once; the new one wants a signature now
    assert_error(await client.post(path_of(first), json={"t": "x"}), 404)
    assert_error(await client.post(path_of(second), json={"t": "x"}), 401)


async def test_a_deleted_webhook_is_gone(
    client: httpx.AsyncClient, workspace: WorkspaceKey, flow: Flow
) -> None:
    issued = await issue(client, workspace, flow.id)
    url = f"/v1/flows/{flow.id}/webhook"
    assert (await client.delete(url, headers=workspace.headers)).status_code == 204
    assert_error(await client.get(url, headers=workspace.headers), 404, "not_found")
    assert_error(await client.delete(url, headers=workspace.headers), 404, "not_found")
    revoked = assert_error(await client.post(path_of(issued), json={}), 404, "not_found")
    assert revoked["message"] == UNKNOWN


async def test_a_flow_without_a_webhook_answers_404(
    client: httpx.AsyncClient, workspace: WorkspaceKey, flow: Flow
) -> None:
    response = await client.get(f"/v1/flows/{flow.id}/webhook", headers=workspace.headers)
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("method", ["PUT", "GET", "DELETE"])
async def test_management_needs_an_api_key(
    client: httpx.AsyncClient, flow: Flow, method: str
) -> None:
    response = await client.request(method, f"/v1/flows/{flow.id}/webhook", json={})
    assert_error(response, 401, "unauthorized")


async def test_another_workspace_cannot_see_or_touch_the_webhook(
    hooks: Hooks, workspace: WorkspaceKey, other_workspace: WorkspaceKey, flow: Flow
) -> None:
    issued = await issue(hooks.http, workspace, flow.id)
    url = f"/v1/flows/{flow.id}/webhook"
    foreign = other_workspace.headers
    for method in ("PUT", "GET", "DELETE"):
        answer = await hooks.http.request(method, url, json={"signed": True}, headers=foreign)
        error = assert_error(answer, 404, "not_found")
        assert flow.id in error["message"]
    unknown = await hooks.http.get("/v1/flows/flw_nothere/webhook", headers=foreign)
    assert assert_error(unknown, 404)["message"].replace("flw_nothere", flow.id) == error["message"]
    # untouched: same URL, still unsigned, still delivering
    shown = (await hooks.http.get(url, headers=workspace.headers)).json()
    assert shown["url"] == issued["url"] and shown["signed"] is False
    assert (await hooks.http.post(path_of(issued), json={"t": "x"})).status_code == 202


@pytest.mark.parametrize(
    ("body", "pointer"),
    [({"sigend": True}, "/sigend"), ({"signed": "maybe"}, "/signed"), ([], "")],
)
async def test_bad_webhook_settings_are_named(
    client: httpx.AsyncClient, workspace: WorkspaceKey, flow: Flow, body: Any, pointer: str
) -> None:
    response = await client.put(
        f"/v1/flows/{flow.id}/webhook", json=body, headers=workspace.headers
    )
    error = assert_error(response, 422, "invalid")
    assert error["details"][0]["pointer"] == pointer


# --- deliveries -------------------------------------------------------------------------------


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


async def test_a_signed_delivery_is_accepted(
    hooks: Hooks, workspace: WorkspaceKey, flow: Flow
) -> None:
    issued = await issue(hooks.http, workspace, flow.id, signed=True)
    body, headers = signed_post(issued["signing_secret"], {"t": "signed"})
    answer = await hooks.http.post(path_of(issued), content=body, headers=headers)
    assert answer.status_code == 202, answer.text


@pytest.mark.parametrize(
    ("attack", "fragment"),
    [
        ("no signature", "missing X-Stepwell-Signature"),
        ("no timestamp", "missing X-Stepwell-Timestamp"),
        ("wrong secret", "does not match"),
        ("body changed", "does not match"),
        ("garbled", "64 hex digits"),
        ("too old", "expired"),
        ("from the future", "expired"),
    ],
)
async def test_bad_signatures_are_refused_and_start_nothing(
    hooks: Hooks, api_services: Services, workspace: WorkspaceKey, flow: Flow, attack: str,
    fragment: str,
) -> None:  # fmt: skip
    issued = await issue(hooks.http, workspace, flow.id, signed=True)
    secret, tolerance = issued["signing_secret"], api_services.settings.webhook_tolerance_s
    stamp = {"too old": -tolerance - 5, "from the future": tolerance + 5}.get(attack, 0)
    body, headers = signed_post(
        "whsec_guess" if attack == "wrong secret" else secret,
        {"t": "x"},
        timestamp=int(time.time()) + stamp,
    )
    if attack == "no signature":
        del headers[signatures.SIGNATURE_HEADER]
    if attack == "no timestamp":
        del headers[signatures.TIMESTAMP_HEADER]
    if attack == "body changed":
        body = body.replace(b'"x"', b'"y"')
    if attack == "garbled":
        headers[signatures.SIGNATURE_HEADER] = "sha256=not-hex"
    answer = await hooks.http.post(path_of(issued), content=body, headers=headers)
    error = assert_error(answer, 401, "unauthorized")
    assert fragment in error["message"]
    assert hooks.delivered("rejected") == 1
    assert await runs_of(api_services.temporal, flow.id, 0) == []


async def test_unsigned_webhooks_ignore_signature_headers(
    hooks: Hooks, workspace: WorkspaceKey, flow: Flow
) -> None:
    issued = await issue(hooks.http, workspace, flow.id)
    headers = {signatures.SIGNATURE_HEADER: "garbage", signatures.TIMESTAMP_HEADER: "0"}
    answer = await hooks.http.post(path_of(issued), json={"t": "x"}, headers=headers)
    assert answer.status_code == 202, answer.text


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


async def test_bodies_over_the_cap_are_refused_without_reading_them(
    api_services: Services, workspace: WorkspaceKey, flow: Flow
) -> None:
    async with serving(variant(api_services, {"webhook_max_body_kb": 1})) as hooks:
        path = path_of(await issue(hooks.http, workspace, flow.id))
        exactly = json.dumps({"t": "x" * (1024 - len('{"t": ""}'))}).encode()
        assert len(exactly) == 1024
        accepted = await hooks.http.post(
            path, content=exactly, headers={"Content-Type": "application/json"}
        )
        assert accepted.status_code == 202, accepted.text

        declared = await hooks.http.post(path, json={"t": "x" * 2000})
        assert "1 KiB" in assert_error(declared, 413, "payload_too_large")["message"]

        pulled = 0

        async def endless() -> AsyncIterator[bytes]:  # chunked: no Content-Length to go by
            nonlocal pulled
            for _ in range(10_000):
                pulled += 1
                yield b" " * 100

        streamed = await hooks.http.post(
            path, content=endless(), headers={"Content-Type": "application/json"}
        )
        assert_error(streamed, 413, "payload_too_large")
        assert pulled <= 12  # stopped reading just past 1 KiB
        assert hooks.delivered("rejected") == 2 and hooks.delivered("accepted") == 1


async def test_deliveries_waiting_for_their_body_hold_no_database_connection(
    api_services: Services, workspace: WorkspaceKey, flow: Flow
) -> None:
    url = normalize_url(api_services.settings.database)
    sqlite = {"check_same_thread": False} if url.startswith("sqlite") else {}
    one_connection = sa.create_engine(
        url, connect_args=sqlite, pool_size=1, max_overflow=0, pool_timeout=2
    )
    released = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield b'{"t": '
        await released.wait()
        yield b'"slow"}'

    try:
        async with serving(variant(api_services, engine=one_connection)) as hooks:
            path = path_of(await issue(hooks.http, workspace, flow.id))
            headers = {"Content-Type": "application/json"}
            sending = [
                asyncio.create_task(hooks.http.post(path, content=slow_body(), headers=headers))
                for _ in range(3)
            ]
            await asyncio.sleep(0.5)  # all three are waiting for the rest of their bodies
            released.set()
            answers = await asyncio.gather(*sending)
    finally:
        one_connection.dispose()
    assert [a.status_code for a in answers] == [202, 202, 202], [a.text for a in answers]


@pytest.mark.parametrize(
    ("content", "content_type", "status", "fragment"),
    [
        (b"t=x", "application/x-www-form-urlencoded", 415, "Content-Type must be"),
        (b"{not json", "application/json", 422, "not valid JSON"),
        (b"", "application/json", 422, "empty"),
        (b"  ", None, 422, "empty"),
        (b"[NaN]", "application/json", 422, "/0: nan is not a JSON number"),
        (b'"\xff"', "application/json", 422, "not valid JSON"),
        (b"[" * 65 + b"]" * 65, "application/json", 422, "deeper than 64"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 422, "not valid JSON"),
        (b"1" * 5000, "application/json", 422, "not valid JSON"),
    ],
)
async def test_bodies_that_are_not_json_are_refused(
    hooks: Hooks,
    workspace: WorkspaceKey,
    flow: Flow,
    content: bytes,
    content_type: str | None,
    status: int,
    fragment: str,
) -> None:
    path = path_of(await issue(hooks.http, workspace, flow.id))
    headers = {"Content-Type": content_type} if content_type else {}
    error = assert_error(await hooks.http.post(path, content=content, headers=headers), status)
    assert fragment in error["message"], error


@pytest.mark.parametrize("content_type", [None, "application/vnd.github+json; charset=utf-8"])
async def test_json_media_types_and_none_are_accepted(
    hooks: Hooks, workspace: WorkspaceKey, flow: Flow, content_type: str | None
) -> None:
    path = path_of(await issue(hooks.http, workspace, flow.id))
    headers = {"Content-Type": content_type} if content_type else {}
    answer = await hooks.http.post(path, content=b'{"t": "x"}', headers=headers)
    assert answer.status_code == 202, answer.text


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


async def test_rate_limit_per_webhook_answers_429_with_headers(
    api_services: Services, workspace: WorkspaceKey, flow: Flow
) -> None:
    limiter = RateLimiter(rate=0.5, burst=2, clock=lambda: 1000.0)  # time stands still
    async with serving(variant(api_services, webhook_limiter=limiter)) as hooks:
        path = path_of(await issue(hooks.http, workspace, flow.id))
        answers = [await hooks.http.post(path, json={"t": "x"}) for _ in range(3)]
        assert [a.status_code for a in answers] == [202, 202, 429]
        assert [a.headers["RateLimit-Limit"] for a in answers] == ["2", "2", "2"]
        assert [a.headers["RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]
        assert [a.headers["RateLimit-Reset"] for a in answers] == ["2", "4", "4"]
        refused = answers[-1]
        assert refused.headers["Retry-After"] == "2"  # one token at 0.5/s
        assert "0.5 deliveries/s" in assert_error(refused, 429, "rate_limited")["message"]
        assert "Retry-After" not in answers[0].headers

        # the bucket is the webhook's: another webhook still has its own
        second = insert_flow(api_services, workspace.workspace_id, SLUG_FLOW)
        other = path_of(await issue(hooks.http, workspace, second.id))
        assert (await hooks.http.post(other, json={"t": "x"})).status_code == 202
        assert hooks.delivered("rate_limited") == 1 and hooks.delivered("accepted") == 3


async def test_forged_deliveries_do_not_spend_the_webhooks_budget(
    api_services: Services, workspace: WorkspaceKey, flow: Flow
) -> None:
    limiter = RateLimiter(rate=0.5, burst=1, clock=lambda: 1000.0)
    async with serving(variant(api_services, webhook_limiter=limiter)) as hooks:
        issued = await issue(hooks.http, workspace, flow.id, signed=True)
        forged, headers = signed_post("whsec_guess", {"t": "x"})
        for _ in range(5):
            answer = await hooks.http.post(path_of(issued), content=forged, headers=headers)
            assert_error(answer, 401)
            assert "RateLimit-Remaining" not in answer.headers
        body, headers = signed_post(issued["signing_secret"], {"t": "x"})
        answer = await hooks.http.post(path_of(issued), content=body, headers=headers)
        assert answer.status_code == 202, answer.text


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


# --- end to end -------------------------------------------------------------------------------


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
