"""End to end: a step pushed through the API declares egress to the host's bridge address; the
egress proxy refuses the connection (a private address), and the run's record shows it, in
``GET /v1/runs/{id}`` and in ``stepwell run show``. Real API, worker, sandbox, egress proxy and
Temporal; the host's own listener shows nothing reached it."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import docker
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from step_sdk.bundle import build_bundle
from step_sdk.manifest import Manifest
from stepwell.cli.main import app
from tests.api.helpers import WorkspaceKey, finished, insert_flow
from tests.api.runs.helpers import start
from tests.api.step_bundles import push
from tests.sandbox.egress_fixtures import bridge_address
from ui_api.services import Services

pytestmark = [pytest.mark.temporal, pytest.mark.docker]

CALL = """
import urllib.error, urllib.request
from step_sdk import step

@step(name="test.netcall", version="1.0.0")
def main(url: str) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            return {"status": response.status, "body": response.read().decode()}
    except urllib.error.HTTPError as exc:
        return {"status": exc.code, "body": exc.read().decode(errors="replace")}
"""


@dataclass
class Listener:
    """A TCP listener on every host address: what reached the host's own services."""

    port: int
    accepted: list[str] = field(default_factory=list)


@pytest.fixture
def host_listener() -> Iterator[Listener]:
    server = socket.create_server(("0.0.0.0", 0))
    listener = Listener(server.getsockname()[1])

    def serve() -> None:
        while True:
            try:
                connection, peer = server.accept()
            except OSError:
                return
            listener.accepted.append(peer[0])
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener
    server.close()
    thread.join(timeout=5)


async def test_a_refused_connection_is_in_the_run_record_and_run_show(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    api_services: Services,
    api_worker: str,
    docker_client: docker.DockerClient,
    temporal: WorkflowEnvironment,
    host_listener: Listener,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bridge = bridge_address(docker_client.api)
    target = f"{bridge}:{host_listener.port}"
    manifest = Manifest(
        name="test.netcall", version="1.0.0", entrypoint="step:main", egress=(target,)
    )
    bundle = build_bundle(manifest, {"step.py": CALL.encode()})
    pushed = await push(client, workspace, bundle.data)
    assert pushed.status_code == 201, pushed.text
    assert pushed.json()["egress"] == [target]
    definition = {
        "name": "netcall",
        "steps": [
            {"id": "call", "uses": "test.netcall@1.0.0", "with": {"url": "{{ trigger.url }}"}}
        ],
    }
    flow_id = insert_flow(api_services, workspace.workspace_id, definition).id
    url = f"http://{target}/{uuid.uuid4().hex}"
    run = await finished(
        client, workspace, (await start(client, workspace, flow_id, {"url": url}))["run_id"], 180
    )

    assert run["status"] == "succeeded", run
    step = run["steps"]["call"]
    assert step["output"]["status"] >= 400  # the proxy's refusal, as the step saw it
    [record] = step["connections"]
    assert (record["host"], record["port"], record["method"]) == (bridge, host_listener.port, "GET")
    assert record["allowed"] is False and record["bytes_in"] == 0
    assert "private" in record["reason"] or "not a global" in record["reason"], record
    assert record["attempt"] == 1 and record["item"] is None
    assert step["connections_not_recorded"] == 0
    assert host_listener.accepted == []  # what the host observed: nothing reached it

    monkeypatch.setenv(
        "STEPWELL_TEMPORAL_ADDRESS", temporal.client.service_client.config.target_host
    )
    runner = CliRunner()
    shown = await asyncio.to_thread(runner.invoke, app, ["run", "show", run["run_id"], "--json"])
    assert shown.exit_code == 0, shown.output
    [cli_record] = json.loads(shown.output)["steps"][0]["connections"]
    assert cli_record == {k: v for k, v in record.items() if k != "item"}
    text = await asyncio.to_thread(runner.invoke, app, ["run", "show", run["run_id"]])
    assert text.exit_code == 0, text.output
    expected: Any = f"  call attempt 1: {target} ("
    line = next(x for x in text.output.splitlines() if x.startswith(expected))
    assert f"refused: {record['reason']}, " in line and line.endswith(" B out, 0 B in")
