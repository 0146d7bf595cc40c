"""Values JSON cannot carry are refused at every entry point of the API, with 422 and a pointer.

``NaN``, ``Infinity``, ``-Infinity``, numbers that overflow (``1e999``, which Python reads as
``inf``) and escapes of lone surrogates (``"\\ud83d"``) are what Python's ``json`` reads but no
store can carry; each body below is sent as raw bytes, as a hostile client would.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from step_sdk.bundle import Bundle
from tests.api.helpers import WorkspaceKey, assert_error, insert_flow, insert_step
from ui_api.errors import ApiError
from ui_api.json_body import parse_json_body
from ui_api.services import Services

# (label, JSON text of a value, what the error message says)
BAD_VALUES = [
    ("NaN", "NaN", "not a JSON number"),
    ("Infinity", "Infinity", "not a JSON number"),
    ("-Infinity", "-Infinity", "not a JSON number"),
    ("overflow", "1e999", "not a JSON number"),
    ("negative overflow", "-1.5e400", "not a JSON number"),
    ("lone high surrogate", '"ACME \\ud83d"', "lone surrogate"),
    ("lone low surrogate", '"caf\\udce9.txt"', "lone surrogate"),
]
SLUG_FLOW: dict[str, Any] = {
    "name": "slug",
    "steps": [{"id": "clean", "uses": "text.slugify@1.0.0", "with": {"text": "{{ trigger.t }}"}}],
}


def _json(template: str, value: str) -> bytes:
    return template.replace("@", value).encode()


@pytest.fixture
def flow_id(api_services: Services, workspace: WorkspaceKey, example_bundles: list[Bundle]) -> str:
    slugify = next(b for b in example_bundles if b.manifest.name == "text.slugify")
    insert_step(api_services, workspace.workspace_id, slugify)
    return insert_flow(api_services, workspace.workspace_id, SLUG_FLOW).id


def _entry_points(flow_id: str) -> list[tuple[str, str, str, str]]:
    """(method, path, body template with ``@`` for the value, pointer of the value)."""
    definition = '{"name": "n", "vars": {"limit": @}, "steps": []}'
    return [
        ("POST", "/v1/runs", f'{{"flow_id": "{flow_id}", "input": {{"values": [1, @]}}}}',
         "/input/values/1"),
        ("POST", f"/v1/flows/{flow_id}/schedules",
         '{"interval_s": 3600, "payload": {"amount": @}}', "/payload/amount"),
        ("POST", "/v1/flows", f'{{"definition": {definition}}}', "/definition/vars/limit"),
        ("POST", "/v1/flows/validate", f'{{"definition": {definition}}}',
         "/definition/vars/limit"),
        ("PUT", f"/v1/flows/{flow_id}", f'{{"definition": {definition}}}',
         "/definition/vars/limit"),
        ("PUT", "/v1/secrets/TOKEN", '{"value": @}', "/value"),
        ("POST", "/v1/keys", '{"name": @}', "/name"),
    ]  # fmt: skip


@pytest.mark.parametrize(("label", "value", "says"), BAD_VALUES)
async def test_every_json_body_refuses_values_json_cannot_carry(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    flow_id: str,
    label: str,
    value: str,
    says: str,
) -> None:
    headers = {**workspace.headers, "Content-Type": "application/json"}
    for method, path, template, pointer in _entry_points(flow_id):
        answer = await client.request(method, path, content=_json(template, value), headers=headers)
        error = assert_error(answer, 422, "invalid")
        assert [d["pointer"] for d in error["details"]] == [pointer], (path, error)
        assert says in error["details"][0]["message"], (path, error)
    runs = await client.get(f"/v1/runs?flow_id={flow_id}", headers=workspace.headers)
    assert runs.json()["items"] == []
    flow = (await client.get(f"/v1/flows/{flow_id}", headers=workspace.headers)).json()
    assert flow["latest_version"] == 1
    assert (await client.get("/v1/secrets", headers=workspace.headers)).json() == []


@pytest.mark.parametrize(("label", "value", "says"), BAD_VALUES)
async def test_webhook_deliveries_refuse_values_json_cannot_carry(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    flow_id: str,
    label: str,
    value: str,
    says: str,
) -> None:
    issued = await client.put(
        f"/v1/flows/{flow_id}/webhook", json={"signed": False}, headers=workspace.headers
    )
    path = httpx.URL(issued.json()["url"]).path
    body = _json('{"company": "ACME", "values": [40, @]}', value)
    answer = await client.post(path, content=body, headers={"Content-Type": "application/json"})
    error = assert_error(answer, 422, "invalid")
    assert [d["pointer"] for d in error["details"]] == ["/values/1"], error
    assert says in error["message"]


async def test_a_surrogate_in_a_key_is_pointed_at_with_an_escape(
    client: httpx.AsyncClient, workspace: WorkspaceKey, flow_id: str
) -> None:
    body = f'{{"flow_id": "{flow_id}", "input": {{"a/b\\ud800": 1, "ok": [NaN]}}}}'.encode()
    answer = await client.post(
        "/v1/runs", content=body, headers={**workspace.headers, "Content-Type": "application/json"}
    )
    error = assert_error(answer, 422, "invalid")
    assert [d["pointer"] for d in error["details"]] == ["/input/a~1b\\ud800", "/input/ok/0"]


async def test_real_text_and_big_finite_numbers_pass_the_edge(
    client: httpx.AsyncClient, workspace: WorkspaceKey, flow_id: str
) -> None:
    body = '{"name": "ok \\ud83d\\ude00 \u00e9", "n": 1.7976931348623157e308}'
    assert parse_json_body(body.encode()) == {
        "name": "ok \U0001f600 \u00e9",
        "n": 1.7976931348623157e308,
    }
    answer = await client.post(
        "/v1/flows/validate",
        json={"definition": {"name": "smile \U0001f600", "vars": {"n": -1e308}, "steps": []}},
        headers=workspace.headers,
    )
    assert answer.status_code == 200, answer.text


async def test_every_route_that_takes_json_refuses_what_json_cannot_carry(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    """Read from the OpenAPI document, so a route added later is covered without a new test."""
    spec = (await client.get("/v1/openapi.json")).json()
    checked = []
    for template, operations in spec["paths"].items():
        path = re.sub(r"\{[^}]+\}", "x", template)
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content or template.startswith("/v1/hooks/"):
                continue  # deliveries check their token first: tested above
            answer = await client.request(
                method,
                path,
                content=b'{"a": [1, 1e999]}',
                headers={**workspace.headers, "Content-Type": "application/json"},
            )
            error = assert_error(answer, 422, "invalid")
            assert [d["pointer"] for d in error["details"]] == ["/a/1"], (method, path, error)
            checked.append(f"{method} {template}")
    assert len(checked) >= 10, checked


@pytest.mark.parametrize(
    "path",
    [
        "/v1/runs/%ED%A0%BD",
        "/v1/runs/%ED%A0%BD/events",
        "/v1/runs?flow_id=%ED%A0%BD",
        "/v1/flows/%ED%A0%BD",
        "/v1/steps/%ED%A0%BD/versions",
        "/v1/secrets/%ED%A0%BD",
    ],
)
async def test_paths_and_queries_that_are_not_utf8_never_answer_500(
    client: httpx.AsyncClient, workspace: WorkspaceKey, path: str
) -> None:
    answer = await client.get(path, headers=workspace.headers)
    assert answer.status_code in (200, 404, 405, 422), answer.text
    answer.json()


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"a": "[[[[[[", "b": ' + b"[" * 64 + b"]" * 64 + b"}", "deeper than 64"),
        ('{"a": 1}'.encode("utf-16"), "not valid JSON"),
        (b'{"a": "\xed\xa0\xbd"}', "not valid JSON"),  # a surrogate encoded as UTF-8 bytes
    ],
)
def test_bodies_that_are_not_plain_utf8_json_or_nest_too_deep_are_refused(
    body: bytes, fragment: str
) -> None:
    with pytest.raises(ApiError) as refused:
        parse_json_body(body)
    assert refused.value.status == 422 and fragment in refused.value.message


def test_nesting_is_counted_outside_strings_and_a_bom_is_allowed() -> None:
    text = '{"a": "[[[[[[[[[[", "b": ' + "[" * 63 + "]" * 63 + "}"
    assert parse_json_body(b"\xef\xbb\xbf" + text.encode())["a"] == "[[[[[[[[[["
