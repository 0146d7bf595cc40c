"""Secret values too short to be credentials (or to redact safely) are refused when stored."""

from __future__ import annotations

import httpx
import pytest

from step_sdk.manifest import MIN_SECRET_CHARS
from tests.api.helpers import WorkspaceKey, assert_error


@pytest.mark.parametrize("value", ["Q", "1234", "pa55w0r", "  xyzzy  ", "\tq7z9k1\r\n"])
async def test_short_values_are_refused_with_the_rule_and_not_the_value(
    client: httpx.AsyncClient, workspace: WorkspaceKey, value: str
) -> None:
    response = await client.put(
        "/v1/secrets/API_TOKEN", json={"value": value}, headers=workspace.headers
    )
    error = assert_error(response, 422, "invalid")
    assert error["details"][0]["pointer"] == "/value"
    assert f"shorter than {MIN_SECRET_CHARS} characters" in error["details"][0]["message"]
    assert value.strip() not in response.text
    assert (await client.get("/v1/secrets", headers=workspace.headers)).json() == []


async def test_a_value_of_exactly_the_minimum_is_stored(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    response = await client.put(
        "/v1/secrets/API_TOKEN", json={"value": "k" * MIN_SECRET_CHARS}, headers=workspace.headers
    )
    assert response.status_code == 201
