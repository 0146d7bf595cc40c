"""Auth, key scoping, the error shape, rate-limit headers, health, metrics and OpenAPI."""

from __future__ import annotations

import secrets

import httpx
import pytest

from stepwell_settings import Settings
from tests.api.helpers import WorkspaceKey, assert_error
from ui_api.app import create_app
from ui_api.auth.ratelimit import RateLimiter
from ui_api.db import create_engine
from ui_api.secrets.crypto import InsecureSecretKey, secret_box
from ui_api.services import Services


async def test_requests_without_a_key_are_refused(client: httpx.AsyncClient) -> None:
    error = assert_error(await client.get("/v1/workspace"), 401, "unauthorized")
    assert "Authorization: Bearer" in error["message"]


@pytest.mark.parametrize(
    "header",
    ["Bearer sw_not-a-real-key", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 5000],
)
async def test_wrong_keys_are_refused(client: httpx.AsyncClient, header: str) -> None:
    response = await client.get("/v1/workspace", headers={"Authorization": header})
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_key_sees_its_workspace(client: httpx.AsyncClient, workspace: WorkspaceKey) -> None:
    response = await client.get("/v1/workspace", headers=workspace.headers)
    assert response.status_code == 200
    assert response.json()["id"] == workspace.workspace_id


async def test_keys_are_created_listed_and_revoked(
    client: httpx.AsyncClient, workspace: WorkspaceKey, other_workspace: WorkspaceKey
) -> None:
    created = await client.post("/v1/keys", json={"name": "ci"}, headers=workspace.headers)
    assert created.status_code == 201
    new = created.json()
    assert new["key"].startswith("sw_") and new["key"].startswith(new["prefix"])

    listed = (await client.get("/v1/keys", headers=workspace.headers)).json()
    assert {k["id"] for k in listed} >= {new["id"]}
    assert all("key" not in k and "key_hash" not in k for k in listed)

    as_new = {"Authorization": f"Bearer {new['key']}"}
    assert (await client.get("/v1/workspace", headers=as_new)).status_code == 200
    # another workspace cannot see or revoke it
    assert_error(await client.delete(f"/v1/keys/{new['id']}", headers=other_workspace.headers), 404)
    assert (
        await client.delete(f"/v1/keys/{new['id']}", headers=workspace.headers)
    ).status_code == 204
    assert_error(await client.get("/v1/workspace", headers=as_new), 401)
    assert_error(await client.delete(f"/v1/keys/{new['id']}", headers=workspace.headers), 404)


async def test_validation_errors_use_the_error_shape_with_pointers(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    error = assert_error(
        await client.post("/v1/keys", json={"name": ""}, headers=workspace.headers), 422, "invalid"
    )
    assert error["details"][0]["pointer"] == "/name"
    broken = await client.post(
        "/v1/keys",
        content=b"{not json",
        headers={**workspace.headers, "Content-Type": "application/json"},
    )
    assert "JSON" in assert_error(broken, 422)["message"]


async def test_unknown_routes_use_the_error_shape(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/v1/nothing-here"), 404, "not_found")


async def test_rate_limit_per_key_answers_429_with_headers(
    api_services: Services, workspace: WorkspaceKey
) -> None:
    limited = Services(
        **{
            **api_services.__dict__,
            "key_limiter": RateLimiter(
                api_services.engine,
                f"t{secrets.token_hex(4)}",
                rate=0.5,
                burst=3,
                clock=lambda: 1000.0,
            ),
        }
    )
    transport = httpx.ASGITransport(app=create_app(limited))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        answers = [await http.get("/v1/workspace", headers=workspace.headers) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert all(a.headers["RateLimit-Limit"] == "3" for a in answers)
    refused = answers[-1]
    assert refused.headers["Retry-After"] == "2"  # one token at 0.5/s
    assert int(refused.headers["RateLimit-Reset"]) == 6  # three tokens at 0.5/s
    assert_error(refused, 429, "rate_limited")


async def test_rate_limit_store_unreachable_fails_the_request(
    api_services: Services, workspace: WorkspaceKey
) -> None:
    """The buckets live in the database: when it cannot be reached the request fails like any
    other database-backed one (500), never passing unlimited."""
    gone = create_engine("postgresql://postgres@127.0.0.1:9/none?connect_timeout=2")
    limited = Services(
        **{**api_services.__dict__, "key_limiter": RateLimiter(gone, "api_key", 1.0, 5)}
    )
    transport = httpx.ASGITransport(app=create_app(limited), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        answer = await http.get("/v1/workspace", headers=workspace.headers)
    assert_error(answer, 500, "internal")
    assert "RateLimit-Remaining" not in answer.headers
    gone.dispose()


async def test_healthz_reports_each_dependency(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "api": "ok", "database": "ok", "temporal": "ok"}


async def test_metrics_count_requests_by_route(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    text = (await client.get("/metrics")).text
    assert 'stepwell_http_requests_total{method="GET",route="/healthz",status="200"}' in text


async def test_openapi_documents_v1(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/v1/openapi.json")).json()
    assert "/v1/workspace" in spec["paths"]
    assert "ErrorResponse" in spec["components"]["schemas"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_default_secret_key_is_refused_outside_development() -> None:
    with pytest.raises(InsecureSecretKey, match="STEPWELL_SECRET_KEY"):
        secret_box(Settings(mode="production"))
    with pytest.raises(InsecureSecretKey, match="32"):
        secret_box(Settings(mode="production", secret_key="short"))
    secret_box(Settings(mode="production", secret_key="k" * 40))
