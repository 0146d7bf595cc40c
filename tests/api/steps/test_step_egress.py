"""Step egress in the registry: the operator's ``egress`` setting at push, the catalogue's
``egress`` and ``egress_widened`` (what a version adds over the previous one)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.helpers import WorkspaceKey, api_with_egress, assert_error
from tests.api.step_bundles import bundle_bytes, manifest_doc, push, with_manifest
from tests.egress_entries import MALFORMED
from ui_api.services import Services


async def versions(client: httpx.AsyncClient, workspace: WorkspaceKey, name: str) -> list[Any]:
    response = await client.get(f"/v1/steps/{name}/versions", headers=workspace.headers)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


# --- the operator's setting ------------------------------------------------------------------


@pytest.mark.parametrize("entry", ["*", "*:80"])
async def test_declared_refuses_any_host_naming_the_entry_and_the_setting(
    api_services: Services, workspace: WorkspaceKey, entry: str
) -> None:
    data = bundle_bytes(egress=["api.github.com", entry])
    async with api_with_egress(api_services, "declared") as client:
        error = assert_error(await push(client, workspace, data), 422, "egress_not_allowed")
        assert [d["pointer"] for d in error["details"]] == ["/manifest/egress/0"]  # sorted: * first
        message = error["details"][0]["message"]
        assert "allows only explicit hosts" in message
        assert "STEPWELL_EGRESS=any-public would allow" in message
        assert "/manifest/egress/0" in error["message"]
        # nothing half-written: no version exists
        missing = await client.get("/v1/steps/test.echo/versions", headers=workspace.headers)
        assert_error(missing, 404)


@pytest.mark.parametrize("entry", ["*.co.uk", "*.github.io", "*.s3.amazonaws.com:8443"])
async def test_declared_refuses_a_wildcard_over_a_public_suffix(
    api_services: Services, workspace: WorkspaceKey, entry: str
) -> None:
    """Anyone can register a name under co.uk or github.io: such a wildcard means any host."""
    data = bundle_bytes(egress=["api.github.com", entry])
    async with api_with_egress(api_services, "declared") as client:
        error = assert_error(await push(client, workspace, data), 422, "egress_not_allowed")
        [problem] = error["details"]
        assert problem["pointer"] == "/manifest/egress/0"  # the manifest lists it first
        assert "a public suffix where anyone can register a name" in problem["message"]
    async with api_with_egress(api_services, "any-public") as client:
        assert (await push(client, workspace, data)).status_code == 201
    # a wildcard over an organisation's own domain is what "declared" is for
    async with api_with_egress(api_services, "declared") as client:
        other = bundle_bytes(name="test.slack", egress=["*.slack.com"])
        assert (await push(client, workspace, other)).status_code == 201


async def test_the_pointer_names_the_entry_as_the_author_listed_it(
    api_services: Services, workspace: WorkspaceKey
) -> None:
    document = manifest_doc(egress=["b.example.com", "a.example.com", "*", "*:80"])
    async with api_with_egress(api_services, "declared") as client:
        error = assert_error(
            await push(client, workspace, with_manifest(document)), 422, "egress_not_allowed"
        )
    assert [d["pointer"] for d in error["details"]] == ["/manifest/egress/2", "/manifest/egress/3"]


async def test_declared_accepts_explicit_hosts(
    api_services: Services, workspace: WorkspaceKey
) -> None:
    data = bundle_bytes(egress=["api.github.com", "*.slack.com", "hooks.example.com:8443"])
    async with api_with_egress(api_services, "declared") as client:
        response = await push(client, workspace, data)
    assert response.status_code == 201, response.text
    assert response.json()["egress"] == ["*.slack.com", "api.github.com", "hooks.example.com:8443"]


async def test_off_refuses_any_egress_saying_steps_get_no_network(
    api_services: Services, workspace: WorkspaceKey
) -> None:
    async with api_with_egress(api_services, "off") as client:
        error = assert_error(
            await push(client, workspace, bundle_bytes(egress=["api.github.com"])),
            422,
            "egress_not_allowed",
        )
        assert [d["pointer"] for d in error["details"]] == ["/manifest/egress"]
        assert "gives steps no network" in error["message"]
        assert "STEPWELL_EGRESS=off" in error["message"]
        # a step without egress is still welcome
        assert (await push(client, workspace, bundle_bytes(version="2.0.0"))).status_code == 201


async def test_any_public_accepts_any_host(api_services: Services, workspace: WorkspaceKey) -> None:
    async with api_with_egress(api_services, "any-public") as client:
        response = await push(client, workspace, bundle_bytes(egress=["*", "*:80"]))
    assert response.status_code == 201, response.text
    assert response.json()["egress"] == ["*", "*:80"]


@pytest.mark.parametrize(("entry", "words"), MALFORMED, ids=[repr(e) for e, _ in MALFORMED])
async def test_a_malformed_entry_is_refused_with_its_pointer(
    client: httpx.AsyncClient, workspace: WorkspaceKey, entry: object, words: str
) -> None:
    data = with_manifest(manifest_doc(egress=["api.github.com", entry]))
    error = assert_error(await push(client, workspace, data), 422, "invalid")
    [detail] = error["details"]
    assert detail["pointer"] == "/manifest/egress/1"
    assert words in detail["message"] and "Value error" not in detail["message"]


async def test_egress_that_is_not_a_list_is_refused_at_the_field(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    data = with_manifest(manifest_doc(egress="api.github.com"))
    error = assert_error(await push(client, workspace, data), 422, "invalid")
    assert [d["pointer"] for d in error["details"]] == ["/manifest/egress"]


# --- the catalogue -----------------------------------------------------------------------------


async def test_a_version_records_what_its_egress_adds_over_the_previous_version(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    first = await push(client, workspace, bundle_bytes(version="1.0.0", egress=["a.com"]))
    assert first.status_code == 201, first.text
    assert first.json()["egress"] == ["a.com"]
    assert first.json()["egress_widened"] == ["a.com"]  # from no network at all
    wider = await push(
        client, workspace, bundle_bytes(version="1.1.0", egress=["a.com", "b.com:8443"])
    )
    assert wider.json()["egress_widened"] == ["b.com:8443"]
    # pushed later, 1.0.1 is compared with 1.0.0, the highest version below it
    patch = await push(client, workspace, bundle_bytes(version="1.0.1", egress=["a.com", "c.com"]))
    assert patch.json()["egress_widened"] == ["c.com"]
    # narrower, or covered by a wildcard of the previous version: nothing added
    await push(client, workspace, bundle_bytes(version="1.2.0", egress=["*.a.com"]))
    narrower = await push(client, workspace, bundle_bytes(version="1.3.0", egress=["api.a.com"]))
    assert narrower.json()["egress_widened"] == []
    listed = {v["version"]: v for v in await versions(client, workspace, "test.echo")}
    assert {k: (v["egress"], v["egress_widened"]) for k, v in listed.items()} == {
        "1.0.0": (["a.com"], ["a.com"]),
        "1.0.1": (["a.com", "c.com"], ["c.com"]),
        "1.1.0": (["a.com", "b.com:8443"], ["b.com:8443"]),
        "1.2.0": (["*.a.com"], ["*.a.com"]),
        "1.3.0": (["api.a.com"], []),
    }
    detail = await client.get("/v1/steps/test.echo/versions/1.1.0", headers=workspace.headers)
    assert detail.json()["egress"] == ["a.com", "b.com:8443"]
    assert detail.json()["egress_widened"] == ["b.com:8443"]
    assert detail.json()["manifest"]["egress"] == ["a.com", "b.com:8443"]
    catalogue = await client.get("/v1/steps", headers=workspace.headers)
    [item] = catalogue.json()["items"]
    assert item["latest_version"] == "1.3.0" and item["egress"] == ["api.a.com"]


async def test_a_step_without_egress_shows_none(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    body = (await push(client, workspace, bundle_bytes())).json()
    assert body["egress"] == [] and body["egress_widened"] == []
