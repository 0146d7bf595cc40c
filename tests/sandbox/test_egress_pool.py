"""Warm pools with egress: the lease is opened with no rules at fill time and granted at handoff."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import docker
import pytest

from sandbox import labels
from sandbox.config import SandboxConfig
from sandbox.envelope import Envelope, StepContext
from sandbox.hardening import EGRESS_DIR
from sandbox.launcher import Sandbox
from tests.sandbox.egress_fixtures import EgressServers, RecordingGateway, egress_bundle

PUBLIC = "public.stepwell.test"


@pytest.fixture
def pooled(
    docker_client: docker.DockerClient,
    egress_config: SandboxConfig,
    egress_gateway: RecordingGateway,
) -> Iterator[Sandbox]:
    sandbox = Sandbox(docker_client, replace(egress_config, pool_size=0), egress=egress_gateway)
    yield sandbox
    sandbox.close()


def _ask_through(socket_path: Path, request: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(15)
        sock.connect(str(socket_path))
        sock.sendall(request)
        return sock.recv(4096)


def test_a_pooled_lease_lets_nothing_through_until_handoff(
    pooled: Sandbox,
    docker_client: docker.DockerClient,
    egress_gateway: RecordingGateway,
    egress_servers: EgressServers,
    run_id: str,
) -> None:
    port = egress_servers.http_port
    bundle = egress_bundle([f"{PUBLIC}:{port}"])
    key = pooled.pool_key(bundle)
    assert key.egress
    opened = len(egress_gateway.leases)
    pooled.pools.warm(key, 1)
    assert pooled.pools.wait_ready(120), pooled.pools.stats()
    lease = egress_gateway.leases[opened]
    assert lease.rules == ()
    (waiting,) = [
        c["Id"]
        for c in docker_client.api.containers(
            filters={
                "label": [
                    f"{labels.ROLE}={labels.ROLE_POOLED}",
                    f"{labels.OWNER}={labels.owner_id()}",
                ]
            }
        )
    ]
    mounts = docker_client.api.inspect_container(waiting)["Mounts"]
    assert [(m["Source"], m["Destination"], m["RW"]) for m in mounts] == [
        (lease.source, EGRESS_DIR, False)
    ]
    # Before handoff the socket is there, but the proxy refuses everything on it.
    marker = f"{run_id}-before-handoff"
    reply = _ask_through(
        Path(lease.source, "proxy.sock"),
        f"GET http://{PUBLIC}:{port}/{marker} HTTP/1.1\r\nHost: {PUBLIC}:{port}\r\n\r\n".encode(),
    )
    assert reply.startswith(b"HTTP/1.1 403"), reply
    assert egress_servers.log.matching(marker) == []
    # At handoff the execution's rules are granted, and the step reaches its host.
    envelope = Envelope(
        input={"attempts": [{"kind": "urllib", "url": f"http://{PUBLIC}:{port}/{run_id}/after"}]},
        context=StepContext(run_id=run_id),
    )
    result = pooled.run(bundle, envelope)
    assert result.ok, (result.error, result.logs)
    assert result.container_id == waiting
    assert [r.get("status") for r in result.output] == [200]
    assert [e.path for e in egress_servers.log.matching(run_id)] == [f"/{run_id}/after"]
    assert [(r["host"], r["allowed"]) for r in result.connections] == [(PUBLIC, True)]
    assert not Path(lease.source).exists(), "the lease is released after use"
