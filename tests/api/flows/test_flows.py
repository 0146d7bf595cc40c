"""/v1/flows: immutable versions, validation with pointers, names, enable/disable, delete."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
from sqlmodel import select

from step_sdk.bundle import Bundle
from tests.api.helpers import WorkspaceKey, assert_error, insert_step
from ui_api.db import session_scope
from ui_api.flows.models import Flow, FlowVersion
from ui_api.schedules.models import Schedule
from ui_api.schedules.service import create_schedule, plan_schedule
from ui_api.services import Services
from ui_api.webhooks.models import Webhook

SLUG_FLOW: dict[str, Any] = {
    "name": "slug",
    "description": "slugify the trigger's text",
    "steps": [{"id": "clean", "uses": "text.slugify@1.0.0", "with": {"text": "{{ trigger.t }}"}}],
    "output": {"slug": "{{ steps.clean.output.slug }}"},
}


def flow_named(name: str, **changes: Any) -> dict[str, Any]:
    definition = copy.deepcopy(SLUG_FLOW)
    definition.update(name=name, **changes)
    return definition


@pytest.fixture
def steps(api_services: Services, workspace: WorkspaceKey, example_bundles: list[Bundle]) -> None:
    """The quick example steps, pushed to ``workspace``."""
    for bundle in example_bundles:
        if bundle.manifest.name in ("text.slugify", "math.stats"):
            insert_step(api_services, workspace.workspace_id, bundle)


async def create(
    client: httpx.AsyncClient, workspace: WorkspaceKey, definition: dict[str, Any]
) -> dict[str, Any]:
    answer = await client.post(
        "/v1/flows", json={"definition": definition}, headers=workspace.headers
    )
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


async def test_a_flow_is_created_read_and_listed(
    client: httpx.AsyncClient, workspace: WorkspaceKey, steps: None
) -> None:
    created = await create(client, workspace, SLUG_FLOW)
    assert created["id"].startswith("flw_")
    assert created["name"] == "slug" and created["latest_version"] == 1
    assert created["enabled"] is True and created["description"] == "slugify the trigger's text"
    assert created["definition"] == SLUG_FLOW

    read = await client.get(f"/v1/flows/{created['id']}", headers=workspace.headers)
    assert read.status_code == 200 and read.json() == created
    listed = (await client.get("/v1/flows", headers=workspace.headers)).json()
    assert [f["id"] for f in listed["items"]] == [created["id"]]
    assert "definition" not in listed["items"][0] and listed["next_cursor"] is None
    version = await client.get(f"/v1/flows/{created['id']}/versions/1", headers=workspace.headers)
    assert version.json()["definition"] == SLUG_FLOW and version.json()["flow_id"] == created["id"]


async def test_every_problem_is_reported_with_a_pointer_under_definition(
    client: httpx.AsyncClient, workspace: WorkspaceKey, steps: None
) -> None:
    broken = {
        "name": "broken",
        "steps": [
            {"id": "a", "uses": "text.slugify@9.9.9", "with": {"text": "x"}},
            {"id": "a", "uses": "no.such@1.0.0"},
            {"id": "c", "uses": "text.slugify@1.0.0", "with": {"text": "{{ steps.zz.output }}"}},
        ],
    }
    answer = await client.post("/v1/flows", json={"definition": broken}, headers=workspace.headers)
    error = assert_error(answer, 422, "invalid")
    pointers = {d["pointer"] for d in error["details"]}
    assert {"/definition/steps/0/uses", "/definition/steps/1/id", "/definition/steps/1/uses"} <= (
        pointers
    )
    assert any(p.startswith("/definition/steps/2") for p in pointers)
    assert "1.0.0" in next(
        d["message"] for d in error["details"] if d["pointer"] == "/definition/steps/0/uses"
    )
    listed = (await client.get("/v1/flows", headers=workspace.headers)).json()
    assert listed["items"] == []


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"definition": {"name": "x", "steps": []}}, "/definition/steps"),
        (
            {"definition": {"steps": [{"id": "a", "uses": "text.slugify@1.0.0"}]}},
            "/definition/name",
        ),
        ({"definition": {**SLUG_FLOW, "name": "n" * 101}}, "/definition/name"),
        ({"definition": {**SLUG_FLOW, "surprise": 1}}, "/definition/surprise"),
        ({"definition": [1, 2]}, "/definition"),
        ({"definition": "flow"}, "/definition"),
        ({}, "/definition"),
    ],
)
async def test_malformed_definitions_are_422_naming_the_field(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    steps: None,
    body: dict[str, Any],
    pointer: str,
) -> None:
    error = assert_error(await client.post("/v1/flows", json=body, headers=workspace.headers), 422)
    assert pointer in {d["pointer"] for d in error["details"]}, error


async def test_validate_reports_all_problems_and_saves_nothing(
    client: httpx.AsyncClient, workspace: WorkspaceKey, steps: None
) -> None:
    good = await client.post(
        "/v1/flows/validate", json={"definition": SLUG_FLOW}, headers=workspace.headers
    )
    assert good.status_code == 200 and good.json() == {"valid": True, "problems": []}

    bad_definition = flow_named(
        "bad",
        steps=[
            {"id": "a", "uses": "text.slugify@1.0.0", "with": {"text": "{{ trigger. }}"}},
            {"id": "b", "uses": "text.slugify@1.0.0", "with": {"text": 5}},
        ],
    )
    bad = await client.post(
        "/v1/flows/validate", json={"definition": bad_definition}, headers=workspace.headers
    )
    assert bad.status_code == 200
    result = bad.json()
    assert result["valid"] is False
    pointers = [p["pointer"] for p in result["problems"]]
    assert any(p.startswith("/definition/steps/0/with") for p in pointers), pointers
    assert any(p.startswith("/definition/steps/1/with") for p in pointers), pointers
    assert (await client.get("/v1/flows", headers=workspace.headers)).json()["items"] == []


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("lead\u202eevil", "U+202E"),  # right-to-left override: reads as "leadlive"
        ("a\u2066b\u2069", "U+2066, U+2069"),  # bidi isolates
        ("zero\u200bwidth", "U+200B"),
        ("two\nlines", "U+000A"),
        ("nul\x00", "U+0000"),
        ("   ", "only white space"),
        ("x" * 101, "at most 100 characters"),
    ],
)
async def test_names_that_hide_or_reorder_text_are_refused_on_save_and_validate(
    client: httpx.AsyncClient, workspace: WorkspaceKey, steps: None, name: str, reason: str
) -> None:
    body = {"definition": flow_named(name)}
    error = assert_error(await client.post("/v1/flows", json=body, headers=workspace.headers), 422)
    named = [d for d in error["details"] if d["pointer"] == "/definition/name"]
    assert named and reason in named[0]["message"], error
    checked = await client.post("/v1/flows/validate", json=body, headers=workspace.headers)
    assert checked.json()["valid"] is False
    assert (await client.get("/v1/flows", headers=workspace.headers)).json()["items"] == []
    # Names in other scripts, emoji and punctuation stay fine.
    await create(client, workspace, flow_named("Kundenanfrage → Ηλέκτρα 名前 🚀 (v2)"))


async def test_names_are_unique_per_workspace(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    other_workspace: WorkspaceKey,
    steps: None,
    api_services: Services,
    example_bundles: list[Bundle],
) -> None:
    await create(client, workspace, SLUG_FLOW)
    again = await client.post(
        "/v1/flows", json={"definition": SLUG_FLOW}, headers=workspace.headers
    )
    assert assert_error(again, 409, "conflict")["details"][0]["pointer"] == "/definition/name"
    # another workspace may use the same name
    for bundle in example_bundles:
        insert_step(api_services, other_workspace.workspace_id, bundle)
    await create(client, other_workspace, SLUG_FLOW)


async def test_an_update_is_a_new_version_and_old_ones_stay(
    client: httpx.AsyncClient, workspace: WorkspaceKey, steps: None
) -> None:
    flow = await create(client, workspace, SLUG_FLOW)
    changed = flow_named("slug-renamed", description="second")
    updated = await client.put(
        f"/v1/flows/{flow['id']}", json={"definition": changed}, headers=workspace.headers
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["latest_version"] == 2 and body["name"] == "slug-renamed"
    assert body["definition"] == changed and body["created_at"] == flow["created_at"]
    assert body["updated_at"] >= flow["updated_at"]

    first = await client.get(f"/v1/flows/{flow['id']}/versions/1", headers=workspace.headers)
    assert first.json()["definition"] == SLUG_FLOW and first.json()["name"] == "slug"
    versions = await client.get(f"/v1/flows/{flow['id']}/versions", headers=workspace.headers)
    assert [v["version"] for v in versions.json()["items"]] == [2, 1]
    assert_error(
        await client.get(f"/v1/flows/{flow['id']}/versions/3", headers=workspace.headers), 404
    )
    assert_error(
        await client.get(f"/v1/flows/{flow['id']}/versions/0", headers=workspace.headers), 422
    )


async def test_update_conflicts_and_problems_leave_the_flow_unchanged(
    client: httpx.AsyncClient, workspace: WorkspaceKey, steps: None
) -> None:
    flow = await create(client, workspace, SLUG_FLOW)
    await create(client, workspace, flow_named("taken"))
    url = f"/v1/flows/{flow['id']}"

    renamed = await client.put(
        url, json={"definition": flow_named("taken")}, headers=workspace.headers
    )
    assert_error(renamed, 409, "conflict")
    stale = await client.put(
        url, json={"definition": SLUG_FLOW, "base_version": 2}, headers=workspace.headers
    )
    assert assert_error(stale, 409)["details"][0]["pointer"] == "/base_version"
    broken = await client.put(
        url,
        json={"definition": flow_named("slug", steps=[{"id": "X", "uses": "nope"}])},
        headers=workspace.headers,
    )
    pointers = {d["pointer"] for d in assert_error(broken, 422)["details"]}
    assert {"/definition/steps/0/id", "/definition/steps/0/uses"} <= pointers

    current = (await client.get(url, headers=workspace.headers)).json()
    assert current["latest_version"] == 1 and current["definition"] == SLUG_FLOW
    ok = await client.put(
        url, json={"definition": SLUG_FLOW, "base_version": 1}, headers=workspace.headers
    )
    assert ok.status_code == 200 and ok.json()["latest_version"] == 2


async def test_lists_are_paginated_and_filtered(
    client: httpx.AsyncClient, workspace: WorkspaceKey, steps: None
) -> None:
    ids = [(await create(client, workspace, flow_named(name)))["id"] for name in "cab"]
    disabled = await client.post(f"/v1/flows/{ids[0]}/disable", headers=workspace.headers)
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False

    first = (await client.get("/v1/flows?limit=2", headers=workspace.headers)).json()
    assert [f["name"] for f in first["items"]] == ["a", "b"] and first["next_cursor"]
    second = (
        await client.get(
            "/v1/flows", params={"limit": 2, "cursor": first["next_cursor"]},
            headers=workspace.headers,
        )
    ).json()  # fmt: skip
    assert [f["name"] for f in second["items"]] == ["c"] and second["next_cursor"] is None

    only_enabled = await client.get("/v1/flows?enabled=true", headers=workspace.headers)
    assert [f["name"] for f in only_enabled.json()["items"]] == ["a", "b"]
    only_disabled = await client.get("/v1/flows?enabled=false", headers=workspace.headers)
    assert [f["name"] for f in only_disabled.json()["items"]] == ["c"]

    for _ in range(2):
        await client.put(
            f"/v1/flows/{ids[1]}", json={"definition": flow_named("a")}, headers=workspace.headers
        )
    page = await client.get(f"/v1/flows/{ids[1]}/versions?limit=2", headers=workspace.headers)
    rest = await client.get(
        f"/v1/flows/{ids[1]}/versions",
        params={"limit": 2, "cursor": page.json()["next_cursor"]},
        headers=workspace.headers,
    )
    assert [v["version"] for v in page.json()["items"]] == [3, 2]
    assert [v["version"] for v in rest.json()["items"]] == [1]


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ("cursor=%25%25%25", "/query/cursor"),
        ("cursor=eyJ4IjoxfQ", "/query/cursor"),  # {"x":1}
        ("cursor=eyJhZnRlciI6MX0", "/query/cursor"),  # {"after":1}
        ("limit=0", "/query/limit"),
        ("limit=1000", "/query/limit"),
        ("enabled=maybe", "/query/enabled"),
    ],
)
async def test_bad_list_parameters_are_422(
    client: httpx.AsyncClient, workspace: WorkspaceKey, query: str, pointer: str
) -> None:
    error = assert_error(await client.get(f"/v1/flows?{query}", headers=workspace.headers), 422)
    assert error["details"][0]["pointer"] == pointer


async def test_delete_removes_versions_webhook_and_schedules(
    client: httpx.AsyncClient, workspace: WorkspaceKey, steps: None, api_services: Services
) -> None:
    flow_id = (await create(client, workspace, SLUG_FLOW))["id"]
    await client.put(
        f"/v1/flows/{flow_id}", json={"definition": SLUG_FLOW}, headers=workspace.headers
    )
    with session_scope(api_services.engine) as session:
        session.add(
            Webhook(workspace_id=workspace.workspace_id, flow_id=flow_id, token="t" + flow_id)
        )
        schedule = Schedule(workspace_id=workspace.workspace_id, flow_id=flow_id, interval_s=3600)
        session.add(schedule)
        session.flush()
        flow = session.get(Flow, flow_id)
        assert flow is not None
        await create_schedule(api_services, plan_schedule(api_services, session, flow, schedule))

    deleted = await client.delete(f"/v1/flows/{flow_id}", headers=workspace.headers)
    assert deleted.status_code == 204 and deleted.content == b""
    assert_error(await client.get(f"/v1/flows/{flow_id}", headers=workspace.headers), 404)
    assert_error(await client.delete(f"/v1/flows/{flow_id}", headers=workspace.headers), 404)
    with session_scope(api_services.engine) as session:
        for model in (FlowVersion, Webhook, Schedule):
            assert session.exec(select(model).where(model.flow_id == flow_id)).all() == []
    schedules = [
        s async for s in await api_services.temporal.list_schedules() if s.id == schedule.id
    ]
    assert schedules == []


async def test_disabling_pauses_schedules_and_updates_repoint_them(
    client: httpx.AsyncClient, workspace: WorkspaceKey, steps: None, api_services: Services
) -> None:
    flow_id = (await create(client, workspace, SLUG_FLOW))["id"]
    with session_scope(api_services.engine) as session:
        schedule = Schedule(workspace_id=workspace.workspace_id, flow_id=flow_id, interval_s=3600)
        session.add(schedule)
        session.flush()
        flow = session.get(Flow, flow_id)
        assert flow is not None
        handle = await create_schedule(
            api_services, plan_schedule(api_services, session, flow, schedule)
        )
    try:
        await client.post(f"/v1/flows/{flow_id}/disable", headers=workspace.headers)
        assert (await handle.describe()).schedule.state.paused is True
        await client.post(f"/v1/flows/{flow_id}/enable", headers=workspace.headers)
        assert (await handle.describe()).schedule.state.paused is False

        await client.put(
            f"/v1/flows/{flow_id}", json={"definition": SLUG_FLOW}, headers=workspace.headers
        )
        action = (await handle.describe()).schedule.action
        attributes = {p.key.name: p.value for p in action.typed_search_attributes}  # type: ignore[attr-defined]
        assert attributes["StepwellFlowVersion"] == 2
    finally:
        await handle.delete()


async def test_enable_and_disable_are_idempotent(
    client: httpx.AsyncClient, workspace: WorkspaceKey, steps: None
) -> None:
    flow_id = (await create(client, workspace, SLUG_FLOW))["id"]
    for action, enabled in (("disable", False), ("disable", False), ("enable", True)):
        answer = await client.post(f"/v1/flows/{flow_id}/{action}", headers=workspace.headers)
        assert answer.status_code == 200 and answer.json()["enabled"] is enabled


async def test_another_workspace_sees_no_flow(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    other_workspace: WorkspaceKey,
    steps: None,
) -> None:
    flow_id = (await create(client, workspace, SLUG_FLOW))["id"]
    foreign = other_workspace.headers
    for method, path, body in [
        ("GET", f"/v1/flows/{flow_id}", None),
        ("PUT", f"/v1/flows/{flow_id}", {"definition": SLUG_FLOW}),
        ("DELETE", f"/v1/flows/{flow_id}", None),
        ("GET", f"/v1/flows/{flow_id}/versions", None),
        ("GET", f"/v1/flows/{flow_id}/versions/1", None),
        ("POST", f"/v1/flows/{flow_id}/enable", None),
        ("POST", f"/v1/flows/{flow_id}/disable", None),
        ("GET", "/v1/flows/flw_doesnotexist", None),
        ("GET", "/v1/flows/" + "x" * 300, None),
    ]:
        answer = await client.request(method, path, json=body, headers=foreign)
        error = assert_error(answer, 404, "not_found")
        assert "workspace" in error["message"] or "flow" in error["message"]
    assert (await client.get("/v1/flows", headers=foreign)).json()["items"] == []
    # the flow is untouched
    assert (await client.get(f"/v1/flows/{flow_id}", headers=workspace.headers)).json()[
        "enabled"
    ] is True


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/flows"),
        ("POST", "/v1/flows"),
        ("POST", "/v1/flows/validate"),
        ("GET", "/v1/flows/flw_x"),
        ("PUT", "/v1/flows/flw_x"),
        ("DELETE", "/v1/flows/flw_x"),
        ("GET", "/v1/flows/flw_x/versions"),
        ("GET", "/v1/flows/flw_x/versions/1"),
        ("POST", "/v1/flows/flw_x/enable"),
        ("POST", "/v1/flows/flw_x/disable"),
    ],
)
async def test_flow_routes_need_a_key(client: httpx.AsyncClient, method: str, path: str) -> None:
    answer = await client.request(method, path, json={"definition": SLUG_FLOW})
    assert_error(answer, 401, "unauthorized")
    bad_key = {"Authorization": "Bearer sw_wrong"}
    assert_error(await client.request(method, path, headers=bad_key), 401)


async def test_openapi_shows_the_definition_schema(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/v1/openapi.json")).json()
    body = spec["components"]["schemas"]["DefinitionBody"]["properties"]["definition"]
    assert body["properties"]["steps"]["items"]["properties"]["uses"]["type"] == "string"
    assert "$defs" not in str(body)
    assert "/v1/flows/{flow_id}/versions/{version}" in spec["paths"]
