"""Workspace secrets: write-only over HTTP, sealed at rest, handed only to declaring steps.

The attack tests run real flows on the real worker (``api_worker``) with steps that try to get
at a secret they did not declare, and steps that leak one they did.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel, select

from tests.api.helpers import WorkspaceKey, assert_error, insert_flow, insert_step
from tests.flows.conftest import inline_step, step_outputs
from ui_api.db import create_engine, session_scope
from ui_api.flows.models import Flow, FlowVersion
from ui_api.runs.launcher import flow_run_input, start_run
from ui_api.secrets.crypto import DecryptionError
from ui_api.secrets.models import Secret
from ui_api.secrets.schemas import MAX_VALUE_BYTES
from ui_api.secrets.service import DatabaseSecrets, SecretStoreError
from ui_api.services import Services

MARKER = "swtest-"  # every secret value here starts with it; the rest is random


def _new_value() -> str:
    return MARKER + secrets.token_hex(16)


async def _put(
    client: httpx.AsyncClient, workspace: WorkspaceKey, name: str, value: str
) -> httpx.Response:
    return await client.put(f"/v1/secrets/{name}", json={"value": value}, headers=workspace.headers)


# --- the HTTP API ------------------------------------------------------------------------------


async def test_a_secret_is_created_replaced_listed_and_deleted_without_its_value(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    first, second = _new_value(), _new_value()
    created = await _put(client, workspace, "API_TOKEN", first)
    assert created.status_code == 201, created.text
    assert set(created.json()) == {"name", "created_at", "updated_at"}
    assert created.json()["name"] == "API_TOKEN"

    replaced = await _put(client, workspace, "API_TOKEN", second)
    assert replaced.status_code == 200
    assert replaced.json()["created_at"] == created.json()["created_at"]
    assert replaced.json()["updated_at"] > created.json()["updated_at"]

    await _put(client, workspace, "a_second_one", _new_value())
    listed = await client.get("/v1/secrets", headers=workspace.headers)
    assert listed.status_code == 200
    assert [s["name"] for s in listed.json()] == ["API_TOKEN", "a_second_one"]
    for response in (created, replaced, listed):
        assert MARKER not in response.text

    deleted = await client.delete("/v1/secrets/API_TOKEN", headers=workspace.headers)
    assert deleted.status_code == 204 and deleted.content == b""
    assert_error(await client.delete("/v1/secrets/API_TOKEN", headers=workspace.headers), 404)
    listed = await client.get("/v1/secrets", headers=workspace.headers)
    assert [s["name"] for s in listed.json()] == ["a_second_one"]


async def test_secrets_need_a_key_and_stay_in_their_workspace(
    client: httpx.AsyncClient, workspace: WorkspaceKey, other_workspace: WorkspaceKey
) -> None:
    assert_error(await client.get("/v1/secrets"), 401, "unauthorized")
    assert_error(await client.put("/v1/secrets/X", json={"value": "v"}), 401, "unauthorized")
    assert_error(await client.delete("/v1/secrets/X"), 401, "unauthorized")
    wrong = {"Authorization": "Bearer sw_nope"}
    assert_error(await client.get("/v1/secrets", headers=wrong), 401, "unauthorized")

    assert (await _put(client, workspace, "SHARED_NAME", _new_value())).status_code == 201
    theirs = other_workspace.headers
    assert (await client.get("/v1/secrets", headers=theirs)).json() == []
    assert_error(await client.delete("/v1/secrets/SHARED_NAME", headers=theirs), 404)
    # the same name in another workspace is another secret
    assert (await _put(client, other_workspace, "SHARED_NAME", _new_value())).status_code == 201
    mine = await client.get("/v1/secrets", headers=workspace.headers)
    assert [s["name"] for s in mine.json()] == ["SHARED_NAME"]


@pytest.mark.parametrize("name", ["1ABC", "a-b", "a.b", "x" * 101, "caf\u00e9", "%00"])
async def test_bad_secret_names_are_refused(
    client: httpx.AsyncClient, workspace: WorkspaceKey, name: str
) -> None:
    error = assert_error(await _put(client, workspace, name, "value"), 422, "invalid")
    assert error["details"][0]["pointer"] == "/path/name"
    assert "letters, digits and underscores" in error["details"][0]["message"]
    deleted = assert_error(
        await client.delete(f"/v1/secrets/{name}", headers=workspace.headers), 422
    )
    assert deleted["details"][0]["pointer"] == "/path/name"


def _bodies(value: str) -> list[tuple[str, bytes, str]]:
    """Bad request bodies that all contain ``value``: (label, body, pointer)."""
    return [
        ("number", json.dumps({"value": 12345}).encode(), "/value"),
        ("object", json.dumps({"value": {"v": value}}).encode(), "/value"),
        ("list", json.dumps({"value": [value]}).encode(), "/value"),
        ("extra field", json.dumps({"value": value, value: value}).encode(), ""),
        ("wrong key", json.dumps({"valu": value}).encode(), "/value"),
        ("not json", b'{"value": "' + value.encode() + b'"', ""),
        ("not an object", json.dumps(value).encode(), ""),
        ("empty", json.dumps({"value": ""}).encode(), "/value"),
        ("too large", json.dumps({"value": value * (MAX_VALUE_BYTES // 8)}).encode(), "/value"),
        ("lone surrogate", b'{"value": "' + value.encode() + b'\\ud800"}', "/value"),
    ]


async def test_invalid_values_are_refused_without_echoing_them(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    value = _new_value()
    headers = {**workspace.headers, "Content-Type": "application/json"}
    for label, body, pointer in _bodies(value):
        response = await client.put("/v1/secrets/API_TOKEN", content=body, headers=headers)
        error = assert_error(response, 422, "invalid")
        assert value not in response.text and MARKER not in response.text, label
        if pointer:
            assert any(d["pointer"].startswith(pointer) for d in error["details"]), (label, error)
    assert (await client.get("/v1/secrets", headers=workspace.headers)).json() == []


async def test_an_oversized_body_is_refused_before_it_is_read(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    body = json.dumps({"value": "x" * (MAX_VALUE_BYTES * 7)}).encode()
    response = await client.put(
        "/v1/secrets/BIG",
        content=body,
        headers={**workspace.headers, "Content-Type": "application/json"},
    )
    assert_error(response, 413, "payload_too_large")


async def test_values_are_sealed_at_rest_and_bound_to_their_workspace(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    other_workspace: WorkspaceKey,
    api_services: Services,
) -> None:
    value = _new_value()
    await _put(client, workspace, "API_TOKEN", value)
    await _put(client, other_workspace, "API_TOKEN", value)

    # nothing in any table holds the plaintext
    with api_services.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            for row in connection.execute(sa.select(table)):
                assert value.encode() not in repr(tuple(row)).encode(), table.name
                for cell in row:
                    if isinstance(cell, bytes):
                        assert value.encode() not in cell, table.name

    with session_scope(api_services.engine) as session:
        mine, theirs = (
            session.exec(
                select(Secret).where(Secret.workspace_id == ws, Secret.name == "API_TOKEN")
            ).one()
            for ws in (workspace.workspace_id, other_workspace.workspace_id)
        )
        assert mine.ciphertext != theirs.ciphertext  # fresh nonce each time
        # a row copied into another workspace does not open there
        theirs.ciphertext = mine.ciphertext
        session.add(theirs)
    provider = DatabaseSecrets(api_services.engine, api_services.box)
    assert provider.resolve(workspace.workspace_id, ["API_TOKEN"]) == {"API_TOKEN": value}
    with pytest.raises(DecryptionError):
        provider.resolve(other_workspace.workspace_id, ["API_TOKEN"])


# --- the secret reaches declaring steps only, and never leaks --------------------------------

HOLDER = inline_step(
    "test.holder",
    """
    import hashlib
    from step_sdk import StepContext, step

    @step(name="test.holder", version="1.0.0", secrets=["API_TOKEN"])
    def main(ctx: StepContext) -> dict:
        token = ctx.secrets.get("API_TOKEN")
        if token is None:
            return {"has": False}
        print("the token is", token)
        ctx.logger.info("logging the token %s", token)
        return {
            "has": True,
            "sha256": hashlib.sha256(token.encode()).hexdigest(),
            "echo": token,
            "nested": {"list": ["prefix " + token + " suffix"]},
        }
    """,
    secrets=["API_TOKEN"],
)

RAISER = inline_step(
    "test.raiser",
    """
    from step_sdk import StepContext, step

    @step(name="test.raiser", version="1.0.0", secrets=["API_TOKEN"],
          retry={"max_attempts": 1})
    def main(ctx: StepContext) -> str:
        token = ctx.secrets["API_TOKEN"]
        raise ValueError(f"upstream refused token {token}")
    """,
    secrets=["API_TOKEN"],
    retry={"max_attempts": 1},
)

# Declares nothing, then looks everywhere it can for a value that starts with the marker.
SNOOP = inline_step(
    "test.snoop",
    """
    import os
    import sys
    from step_sdk import StepContext, step

    MARKER = "swt" + "est-"  # split, so this file does not match itself

    def _scan(label, text, found):
        at = text.find(MARKER)
        if at >= 0:
            found.append(f"{label}: {text[max(0, at - 20):at + 60]!r}")

    @step(name="test.snoop", version="1.0.0")
    def main(upstream: dict, ctx: StepContext) -> dict:
        found = []
        _scan("context.secrets", repr(dict(ctx.secrets)), found)
        _scan("upstream output", repr(upstream), found)
        _scan("environ", repr(dict(os.environ)), found)
        _scan("argv", repr(sys.argv), found)
        try:
            _scan("stdin", sys.stdin.read(), found)
        except OSError:
            pass
        for proc in ("/proc/self/environ", "/proc/1/environ", "/proc/1/cmdline"):
            try:
                _scan(proc, open(proc, "rb").read().decode("latin-1"), found)
            except OSError:
                pass
        scanned = 0
        for top in ("/etc", "/tmp", "/opt", "/root", "/home", "/var", "/run", "/dev/shm"):
            for folder, _, files in os.walk(top):
                for name in files:
                    path = os.path.join(folder, name)
                    try:
                        if os.path.getsize(path) > 2_000_000:
                            continue
                        with open(path, "rb") as handle:
                            _scan(path, handle.read().decode("latin-1"), found)
                        scanned += 1
                    except OSError:
                        pass
        return {"found": found[:20], "files_scanned": scanned, "secret_names": sorted(ctx.secrets)}
    """,
    limits={"timeout_s": 120},
)

LEAK_FLOW = {
    "name": "leaks",
    "steps": [
        {"id": "hold", "uses": "test.holder@1.0.0"},
        {
            "id": "snoop",
            "uses": "test.snoop@1.0.0",
            "with": {"upstream": "{{ steps.hold.output }}"},
        },
        {"id": "raise", "uses": "test.raiser@1.0.0", "needs": ["hold"], "on_error": "continue"},
    ],
    "output": {"hold": "{{ steps.hold.output }}"},
}


def _setup_flow(services: Services, workspace_id: str, definition: dict[str, Any]) -> Flow:
    for bundle in (HOLDER, RAISER, SNOOP):
        insert_step(services, workspace_id, bundle)
    return insert_flow(services, workspace_id, definition)


async def _run(services: Services, flow: Flow) -> tuple[dict[str, Any], str]:
    """Run the flow to the end: its result, and its whole history as JSON."""
    with session_scope(services.engine) as session:
        version = session.exec(select(FlowVersion).where(FlowVersion.flow_id == flow.id)).one()
        run_input = flow_run_input(session, services.settings, flow, version, {"x": 1})
    started = await start_run(
        services.temporal, services.settings, run_input, trigger_kind="manual"
    )
    handle = services.temporal.get_workflow_handle(started.run_id)
    result: dict[str, Any] = await handle.result()
    history = (await handle.fetch_history()).to_json()
    outputs = await step_outputs(handle)  # the run's result holds no step outputs
    for step_id, state in result["steps"].items():
        state["output"] = outputs.get(step_id)
    return result, history


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


async def test_a_secret_reaches_only_the_step_that_declares_it_and_never_leaks(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    api_services: Services,
    api_worker: str,
) -> None:
    value = _new_value()
    assert (await _put(client, workspace, "API_TOKEN", value)).status_code == 201
    flow = _setup_flow(api_services, workspace.workspace_id, LEAK_FLOW)

    result, history = await _run(api_services, flow)
    steps = result["steps"]

    # the declaring step got exactly the value, and every way it leaked it is redacted
    hold = steps["hold"]
    assert hold["status"] == "succeeded", hold
    assert hold["output"]["has"] and hold["output"]["sha256"] == _sha(value)
    assert hold["output"]["echo"] == "[redacted]"
    assert hold["output"]["nested"] == {"list": ["prefix [redacted] suffix"]}
    assert "the token is [redacted]" in hold["logs"]
    assert "logging the token [redacted]" in hold["logs"]

    # raising with it: the message and traceback are redacted too
    failed = steps["raise"]
    assert failed["status"] == "failed"
    assert "upstream refused token [redacted]" in failed["error"]["message"]

    # the step that did not declare it found it nowhere
    snoop = steps["snoop"]
    assert snoop["status"] == "succeeded", snoop
    assert snoop["output"]["found"] == [] and snoop["output"]["secret_names"] == []
    assert snoop["output"]["files_scanned"] > 50  # it really looked

    # and the run's whole Temporal history never holds the plaintext
    assert value not in json.dumps(result)
    assert value not in history
    assert value[len(MARKER) :] not in history


async def test_another_workspace_with_the_same_secret_name_gets_its_own_or_nothing(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    other_workspace: WorkspaceKey,
    api_services: Services,
    api_worker: str,
) -> None:
    value = _new_value()
    await _put(client, workspace, "API_TOKEN", value)
    definition = {"name": "hold", "steps": [{"id": "hold", "uses": "test.holder@1.0.0"}]}
    theirs = _setup_flow(api_services, other_workspace.workspace_id, definition)

    result, history = await _run(api_services, theirs)
    assert result["steps"]["hold"]["output"] == {"has": False}
    assert value not in history

    own = _new_value()
    await _put(client, other_workspace, "API_TOKEN", own)
    result, _ = await _run(api_services, theirs)
    assert result["steps"]["hold"]["output"]["sha256"] == _sha(own)


async def test_replaced_and_deleted_secrets_take_effect_on_the_next_run(
    client: httpx.AsyncClient, workspace: WorkspaceKey, api_services: Services, api_worker: str
) -> None:
    definition = {"name": "hold", "steps": [{"id": "hold", "uses": "test.holder@1.0.0"}]}
    flow = _setup_flow(api_services, workspace.workspace_id, definition)
    first, second = _new_value(), _new_value()
    await _put(client, workspace, "API_TOKEN", first)
    assert (await _run(api_services, flow))[0]["steps"]["hold"]["output"]["sha256"] == _sha(first)
    await _put(client, workspace, "API_TOKEN", second)
    assert (await _run(api_services, flow))[0]["steps"]["hold"]["output"]["sha256"] == _sha(second)
    await client.delete("/v1/secrets/API_TOKEN", headers=workspace.headers)
    assert (await _run(api_services, flow))[0]["steps"]["hold"]["output"] == {"has": False}


def test_bundles_under_test_declare_what_the_tests_assume() -> None:
    declared = {b.manifest.name: b.manifest.secrets for b in (HOLDER, RAISER, SNOOP)}
    assert declared == {
        "test.holder": ("API_TOKEN",),
        "test.raiser": ("API_TOKEN",),
        "test.snoop": (),
    }


async def test_the_openapi_document_marks_the_value_write_only(client: httpx.AsyncClient) -> None:
    document = (await client.get("/v1/openapi.json")).json()
    assert {"put", "delete"} <= set(document["paths"]["/v1/secrets/{name}"])
    value = document["components"]["schemas"]["SecretValue"]["properties"]["value"]
    assert value["writeOnly"] is True and value["format"] == "password"
    assert "value" not in document["components"]["schemas"]["SecretOut"]["properties"]


def test_a_worker_on_a_database_without_tables_gets_a_clear_error(
    tmp_path: Path, api_services: Services
) -> None:
    provider = DatabaseSecrets(
        create_engine(f"sqlite:///{tmp_path / 'empty.db'}"), api_services.box
    )
    assert provider.resolve("ws_x", []) == {}  # steps without secrets never touch it
    with pytest.raises(SecretStoreError, match="must have started once"):
        provider.resolve("ws_x", ["API_TOKEN"])
