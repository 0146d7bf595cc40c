"""What a delivery may cost: body size and media type, connections while waiting, rate limits.

Deliveries go to an app whose runs queue on a task queue no worker polls (runs are started in
Temporal and checked there, never executed).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from tests.api.helpers import WorkspaceKey, assert_error, insert_flow
from tests.api.webhooks.helpers import (
    SLUG_FLOW,
    Hooks,
    issue,
    path_of,
    serving,
    signed_post,
    variant,
)
from ui_api.auth.ratelimit import RateLimiter
from ui_api.db import normalize_url
from ui_api.flows.models import Flow
from ui_api.services import Services


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


async def test_rate_limit_per_webhook_answers_429_with_headers(
    api_services: Services, workspace: WorkspaceKey, flow: Flow
) -> None:
    limiter = RateLimiter(
        api_services.engine, "webhook", rate=0.5, burst=2, clock=lambda: 1000.0
    )  # time stands still
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
    limiter = RateLimiter(api_services.engine, "webhook", rate=0.5, burst=1, clock=lambda: 1000.0)
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
