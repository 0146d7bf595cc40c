"""Managing a flow's webhook: create, rotate, delete, with a key and within its workspace."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlmodel import select

from tests.api.helpers import WorkspaceKey, assert_error
from tests.api.webhooks.helpers import UNKNOWN, Hooks, issue, path_of
from ui_api.db import session_scope
from ui_api.flows.models import Flow
from ui_api.services import Services
from ui_api.webhooks.models import Webhook


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
