"""Every bad secret name gets the same clear 422 naming ``/path/name``, whatever it holds: a
``/`` (the route takes the rest of the path, so it is not a 404 "Not Found"), dot segments,
markup, spaces; on PUT and on DELETE alike."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from tests.api.helpers import WorkspaceKey, assert_error

BAD_NAMES = [
    "../flows/x/webhook",
    "a/b",
    "API_TOKEN/",
    "/API_TOKEN",
    "..",
    ".",
    "<b>bad name</b>",
    "a b",
    "x/" * 60,
]
VALUE = {"value": "a-long-enough-secret"}


def _path(name: str) -> str:
    # Percent-encoded as the console's client sends it (encodeURIComponent); dots too, or the
    # client folds a `..` segment away before the request leaves.
    return f"/v1/secrets/{quote(name, safe='').replace('.', '%2E')}"


def _refused(response: httpx.Response, name: str) -> None:
    error = assert_error(response, 422, "invalid")
    [detail] = error["details"]
    assert detail["pointer"] == "/path/name"
    assert detail["message"].startswith(repr(name[:100]))
    assert "is not a secret name (letters, digits and underscores" in detail["message"]


@pytest.mark.parametrize("name", BAD_NAMES)
async def test_a_bad_name_is_refused_clearly_on_put_and_delete(
    client: httpx.AsyncClient, workspace: WorkspaceKey, name: str
) -> None:
    _refused(await client.put(_path(name), json=VALUE, headers=workspace.headers), name)
    _refused(await client.delete(_path(name), headers=workspace.headers), name)
    assert (await client.get("/v1/secrets", headers=workspace.headers)).json() == []


async def test_a_slash_sent_as_is_is_part_of_the_name(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    response = await client.put("/v1/secrets/SLACK/TOKEN", json=VALUE, headers=workspace.headers)
    _refused(response, "SLACK/TOKEN")
    response = await client.delete("/v1/secrets/SLACK/TOKEN", headers=workspace.headers)
    _refused(response, "SLACK/TOKEN")


async def test_a_good_name_still_works_and_an_unknown_one_is_a_404(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    put = await client.put(_path("GOOD_NAME"), json=VALUE, headers=workspace.headers)
    assert put.status_code == 201, put.text
    assert (await client.delete(_path("GOOD_NAME"), headers=workspace.headers)).status_code == 204
    missing = await client.delete(_path("GOOD_NAME"), headers=workspace.headers)
    assert_error(missing, 404, "not_found")
