"""The step registry over HTTP: push, catalogue, versions, bundle download, deprecation."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import httpx
import pytest

from step_sdk.bundle import Bundle
from tests.api.helpers import WorkspaceKey, api_with_egress, assert_error
from tests.api.step_bundles import bundle_bytes, push
from ui_api.services import Services


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def pushed(
    client: httpx.AsyncClient, workspace: WorkspaceKey, data: bytes, status: int = 201
) -> dict[str, Any]:
    response = await push(client, workspace, data)
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


# --- push ----------------------------------------------------------------------------------------


async def test_push_stores_the_bundle_and_answers_the_version(
    client: httpx.AsyncClient, workspace: WorkspaceKey, api_services: Services
) -> None:
    data = bundle_bytes(
        requirements=["Markdown==3.7"],
        secrets=["API_TOKEN"],
        examples=[{"input": {"text": "hi"}, "output": {"text": "hi"}}],
    )
    body = await pushed(client, workspace, data)
    assert body["ref"] == "test.echo@1.0.0"
    assert body["digest"] == digest(data)
    assert body["size"] == len(data)
    assert body["deprecated"] is False
    assert body["requirements"] == ["markdown==3.7"]  # normalised, as the worker will read it
    assert body["secrets"] == ["API_TOKEN"]
    assert body["input_schema"]["required"] == ["text"]
    assert api_services.bundles.get(body["digest"]) == data


async def test_pushing_identical_bytes_again_is_idempotent(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    data = bundle_bytes()
    first = await pushed(client, workspace, data, 201)
    again = await pushed(client, workspace, data, 200)
    assert again == first
    versions = (await client.get("/v1/steps/test.echo/versions", headers=workspace.headers)).json()
    assert len(versions["items"]) == 1


async def test_same_version_with_other_bytes_is_a_conflict_naming_both_digests(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    original = bundle_bytes()
    changed = bundle_bytes(source=b"def echo(text: str) -> dict:\n    return {}\n")
    await pushed(client, workspace, original)
    error = assert_error(await push(client, workspace, changed), 409, "conflict")
    assert digest(original) in error["message"] and digest(changed) in error["message"]
    detail = await client.get("/v1/steps/test.echo/versions/1.0.0", headers=workspace.headers)
    assert detail.json()["digest"] == digest(original)


async def test_concurrent_pushes_of_one_version_create_it_once(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    data = bundle_bytes(version="3.0.0")
    answers = await asyncio.gather(*(push(client, workspace, data) for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    other = bundle_bytes(version="3.0.1")
    rival = bundle_bytes(version="3.0.1", description="another build")
    rivals = await asyncio.gather(push(client, workspace, other), push(client, workspace, rival))
    assert sorted(a.status_code for a in rivals) == [201, 409]


async def test_every_example_step_passes_the_server_checks(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    example_bundles: list[Bundle],
    api_services: Services,
) -> None:
    # http.request, web.screenshot and web.form list "*" (any public host): only an
    # installation that allows it takes them
    anywhere = [b for b in example_bundles if "*" in b.manifest.egress]
    assert sorted(b.manifest.name for b in anywhere) == [
        "http.request", "web.form", "web.screenshot"
    ]  # fmt: skip
    for bundle in anywhere:
        assert_error(await push(client, workspace, bundle.data), 422, "egress_not_allowed")
    async with api_with_egress(api_services, "any-public") as open_client:
        for bundle in example_bundles:
            body = await pushed(open_client, workspace, bundle.data)
            assert (body["ref"], body["digest"]) == (bundle.manifest.ref, bundle.digest)
    catalogue = (await client.get("/v1/steps", headers=workspace.headers)).json()
    assert len(catalogue["items"]) == len({b.manifest.name for b in example_bundles})


async def test_push_needs_a_valid_key(client: httpx.AsyncClient) -> None:
    files = {"bundle": ("b.tgz", bundle_bytes(), "application/gzip")}
    assert_error(await client.post("/v1/steps", files=files), 401, "unauthorized")
    wrong = {"Authorization": "Bearer sw_wrong"}
    assert_error(await client.post("/v1/steps", files=files, headers=wrong), 401)


async def test_workspaces_have_separate_registries(
    client: httpx.AsyncClient, workspace: WorkspaceKey, other_workspace: WorkspaceKey
) -> None:
    await pushed(client, workspace, bundle_bytes())
    # The same name@version with other bytes is no conflict in another workspace.
    await pushed(client, other_workspace, bundle_bytes(description="theirs"), 201)
    await pushed(client, workspace, bundle_bytes(name="test.private"))
    theirs = other_workspace.headers
    for path in (
        "/v1/steps/test.private/versions",
        "/v1/steps/test.private/versions/1.0.0",
        "/v1/steps/test.private/versions/1.0.0/bundle",
    ):
        assert_error(await client.get(path, headers=theirs), 404, "not_found")
    assert_error(
        await client.post("/v1/steps/test.private/versions/1.0.0/deprecate", headers=theirs), 404
    )
    assert_error(
        await client.delete("/v1/steps/test.private/versions/1.0.0/deprecation", headers=theirs),
        404,
    )
    names = [i["name"] for i in (await client.get("/v1/steps", headers=theirs)).json()["items"]]
    assert names == ["test.echo"]
    mine = await client.get("/v1/steps/test.echo/versions/1.0.0", headers=workspace.headers)
    assert mine.json()["description"] == "Answers with its input."


@pytest.mark.parametrize(
    "path",
    [
        "/v1/steps",
        "/v1/steps/test.echo/versions",
        "/v1/steps/test.echo/versions/1.0.0",
        "/v1/steps/test.echo/versions/1.0.0/bundle",
    ],
)
async def test_reads_need_a_key(client: httpx.AsyncClient, path: str) -> None:
    assert_error(await client.get(path), 401, "unauthorized")


# --- versions and bundles ------------------------------------------------------------------------


async def test_versions_are_listed_in_semantic_order(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    for version in ("1.10.0", "1.2.0", "2.0.0-rc.1", "1.9.0"):
        await pushed(client, workspace, bundle_bytes(version=version))
    listed = await client.get("/v1/steps/test.echo/versions", headers=workspace.headers)
    assert [v["version"] for v in listed.json()["items"]] == [
        "1.2.0",
        "1.9.0",
        "1.10.0",
        "2.0.0-rc.1",
    ]
    missing = await client.get("/v1/steps/test.nothing/versions", headers=workspace.headers)
    assert "test.nothing" in assert_error(missing, 404, "not_found")["message"]


async def test_a_version_has_everything_a_form_builder_needs(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    data = bundle_bytes(
        limits={"timeout_s": 5, "memory_mb": 128, "cpus": 0.5, "output_kb": 64},
        retry={"max_attempts": 2, "initial_interval_s": 1, "backoff": 2, "non_retryable": []},
        examples=[{"input": {"text": "a"}, "output": {"text": "a"}}],
    )
    await pushed(client, workspace, data)
    response = await client.get("/v1/steps/test.echo/versions/1.0.0", headers=workspace.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["entrypoint"] == "step:echo" and body["runtime"] == "python3.11"
    assert body["limits"]["timeout_s"] == 5 and body["retry"]["max_attempts"] == 2
    assert body["examples"] == [{"input": {"text": "a"}, "output": {"text": "a"}}]
    assert body["input_schema"]["properties"] == {"text": {"type": "string"}}
    assert body["manifest"]["name"] == "test.echo"
    assert body["digest"] == digest(data) and body["size"] == len(data)
    assert body["created_at"] and body["deprecation_message"] == ""
    missing = await client.get("/v1/steps/test.echo/versions/9.9.9", headers=workspace.headers)
    assert "test.echo@9.9.9" in assert_error(missing, 404)["message"]


async def test_the_bundle_downloads_byte_for_byte(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    data = bundle_bytes()
    await pushed(client, workspace, data)
    response = await client.get(
        "/v1/steps/test.echo/versions/1.0.0/bundle", headers=workspace.headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/gzip"
    assert response.content == data
    assert response.headers["etag"] == f'"{digest(data)}"'
    assert "test.echo-1.0.0.tgz" in response.headers["content-disposition"]


# --- deprecation ---------------------------------------------------------------------------------


async def test_deprecation_hides_from_the_catalogue_but_keeps_the_version(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    headers = workspace.headers
    await pushed(client, workspace, bundle_bytes(version="1.0.0", title="Old"))
    await pushed(client, workspace, bundle_bytes(version="2.0.0", title="New"))
    answer = await client.post(
        "/v1/steps/test.echo/versions/2.0.0/deprecate",
        json={"message": "use 1.0.0 again"},
        headers=headers,
    )
    assert answer.status_code == 200
    assert answer.json()["deprecated"] is True
    assert answer.json()["deprecation_message"] == "use 1.0.0 again"
    (entry,) = (await client.get("/v1/steps", headers=headers)).json()["items"]
    assert (entry["latest_version"], entry["title"], entry["deprecated"]) == ("1.0.0", "Old", False)
    assert entry["version_count"] == 2

    # Every version deprecated (no body is fine): hidden unless asked for.
    bare = await client.post("/v1/steps/test.echo/versions/1.0.0/deprecate", headers=headers)
    assert bare.status_code == 200 and bare.json()["deprecation_message"] == ""
    assert (await client.get("/v1/steps", headers=headers)).json()["items"] == []
    listed = await client.get("/v1/steps?include_deprecated=true", headers=headers)
    (entry,) = listed.json()["items"]
    assert (entry["latest_version"], entry["deprecated"]) == ("2.0.0", True)

    # Existing flows keep running deprecated versions: they stay readable.
    detail = await client.get("/v1/steps/test.echo/versions/2.0.0", headers=headers)
    assert detail.json()["deprecated"] is True
    bundle = await client.get("/v1/steps/test.echo/versions/2.0.0/bundle", headers=headers)
    assert bundle.status_code == 200

    undone = await client.delete("/v1/steps/test.echo/versions/2.0.0/deprecation", headers=headers)
    assert undone.status_code == 200
    assert (undone.json()["deprecated"], undone.json()["deprecation_message"]) == (False, "")
    (entry,) = (await client.get("/v1/steps", headers=headers)).json()["items"]
    assert entry["latest_version"] == "2.0.0"


async def test_deprecation_input_is_validated(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    await pushed(client, workspace, bundle_bytes())
    url = "/v1/steps/test.echo/versions/1.0.0/deprecate"
    long = await client.post(url, json={"message": "x" * 501}, headers=workspace.headers)
    assert assert_error(long, 422, "invalid")["details"][0]["pointer"] == "/message"
    typo = await client.post(url, json={"mesage": "x"}, headers=workspace.headers)
    assert assert_error(typo, 422)["details"][0]["pointer"] == "/mesage"
    missing = await client.post(
        "/v1/steps/test.echo/versions/7.0.0/deprecate", headers=workspace.headers
    )
    assert_error(missing, 404)


# --- the catalogue -------------------------------------------------------------------------------


async def test_catalogue_lists_one_entry_per_step_with_its_latest_version(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    await pushed(client, workspace, bundle_bytes("text.upper", "1.0.0", title="Upper v1"))
    await pushed(client, workspace, bundle_bytes("text.upper", "1.10.0", title="Upper v10"))
    await pushed(client, workspace, bundle_bytes("text.upper", "1.9.0", title="Upper v9"))
    await pushed(client, workspace, bundle_bytes("math.sum", "0.1.0", title="Sum"))
    body = (await client.get("/v1/steps", headers=workspace.headers)).json()
    assert body["next_cursor"] is None
    assert body["items"] == [
        {
            "name": "math.sum",
            "title": "Sum",
            "description": "Answers with its input.",
            "latest_version": "0.1.0",
            "version_count": 1,
            "deprecated": False,
            "egress": [],
            "runtime": "python3.11",
        },
        {
            "name": "text.upper",
            "title": "Upper v10",
            "description": "Answers with its input.",
            "latest_version": "1.10.0",
            "version_count": 3,
            "deprecated": False,
            "egress": [],
            "runtime": "python3.11",
        },
    ]


async def test_catalogue_text_filter_matches_name_title_and_description(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    await pushed(client, workspace, bundle_bytes("text.slug", title="Slugify"))
    await pushed(client, workspace, bundle_bytes("mail.send", description="Sends an E-mail"))
    await pushed(client, workspace, bundle_bytes("csv.parse", title="CSV"))

    async def names(q: str) -> list[str]:
        answer = await client.get("/v1/steps", params={"q": q}, headers=workspace.headers)
        return [item["name"] for item in answer.json()["items"]]

    assert await names("SLUG") == ["text.slug"]
    assert await names("e-mail") == ["mail.send"]
    assert await names("csv.") == ["csv.parse"]
    assert await names("nothing like it") == []


async def test_catalogue_pages_by_cursor(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    names = [f"page.s{i}" for i in range(5)]
    for name in reversed(names):
        await pushed(client, workspace, bundle_bytes(name))
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = (await client.get("/v1/steps", params=params, headers=workspace.headers)).json()
        seen += [item["name"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert (seen, pages) == (names, 3)
    filtered = await client.get(
        "/v1/steps", params={"limit": 1, "q": "s4"}, headers=workspace.headers
    )
    assert filtered.json() == {"items": [filtered.json()["items"][0]], "next_cursor": None}


@pytest.mark.parametrize(
    ("params", "pointer"),
    [
        ({"limit": 0}, "/query/limit"),
        ({"limit": 201}, "/query/limit"),
        ({"limit": "many"}, "/query/limit"),
        ({"cursor": "%%%"}, "/query/cursor"),
        ({"cursor": "//8"}, "/query/cursor"),
        ({"include_deprecated": "perhaps"}, "/query/include_deprecated"),
        ({"q": "x" * 201}, "/query/q"),
    ],
)
async def test_catalogue_query_errors_name_the_parameter(
    client: httpx.AsyncClient, workspace: WorkspaceKey, params: dict[str, Any], pointer: str
) -> None:
    answer = await client.get("/v1/steps", params=params, headers=workspace.headers)
    assert assert_error(answer, 422, "invalid")["details"][0]["pointer"] == pointer


async def test_openapi_documents_the_bundle_upload(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/v1/openapi.json")).json()
    push_op = spec["paths"]["/v1/steps"]["post"]
    form = push_op["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["bundle"]
    assert {"200", "201", "409", "413", "415", "422"} <= set(push_op["responses"])
    version_path = spec["paths"]["/v1/steps/{name}/versions/{version}"]["get"]
    assert version_path["responses"]["200"]["content"]["application/json"]["schema"]
