"""Egress that is allowed works with standard clients and is recorded; no egress means no network.

Each test asserts what the host observed: the test servers' request logs, the proxy's records,
and the step container's configuration as the engine reports it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from dataclasses import replace
from importlib.metadata import version
from typing import Any

import docker
import pytest

from sandbox import labels
from sandbox.config import SandboxConfig
from sandbox.egress.gateway import VOLUME
from sandbox.egress.image import PROXY_USER, VOLUME_TARGET
from sandbox.envelope import Envelope, StepContext
from sandbox.hardening import EGRESS_DIR, EGRESS_PROXY_URL
from sandbox.launcher import Sandbox
from tests.sandbox.egress_fixtures import (
    EgressServers,
    RecordingGateway,
    RunEgress,
    egress_bundle,
)

pytestmark = pytest.mark.docker
PUBLIC = "public.stepwell.test"


def _inspect_while_running(client: docker.DockerClient, run_id: str, seen: dict[str, Any]) -> Any:
    """An ``on_log`` sink that inspects the step's container when the step says "ready"."""

    def sink(data: bytes) -> None:
        if b"ready" in data and "config" not in seen:
            (summary,) = client.api.containers(filters={"label": f"{labels.RUN_ID}={run_id}"})
            seen["config"] = client.api.inspect_container(summary["Id"])

    return sink


def test_https_and_http_to_an_allowed_host_work_and_are_recorded(
    run_egress: RunEgress, egress_servers: EgressServers, run_id: str
) -> None:
    s = egress_servers
    result = run_egress(
        [
            {"kind": "urllib", "url": f"https://{PUBLIC}:{s.https_port}/{run_id}/tls"},
            {
                "kind": "urllib",
                "url": f"http://{PUBLIC}:{s.http_port}/{run_id}/plain",
                "method": "POST",
                "body": "hello",
            },
        ],
        egress=[f"{PUBLIC}:{s.https_port}", f"{PUBLIC}:{s.http_port}"],
    )
    assert [r.get("status") for r in result.output] == [200, 200], result.output
    assert result.output[0]["body"].startswith("public-https GET")
    seen = s.log.matching(run_id)
    assert [(e.server, e.method, e.path) for e in seen] == [
        ("public-https", "GET", f"/{run_id}/tls"),
        ("public-http", "POST", f"/{run_id}/plain"),
    ]
    plain = seen[1]
    assert plain.body == b"hello"
    headers = {k.lower(): v for k, v in plain.headers.items()}
    assert headers["host"] == f"{PUBLIC}:{s.http_port}"
    assert not any(name.startswith("proxy-") for name in headers)
    records = result.connections
    assert [(r["host"], r["port"], r["allowed"]) for r in records] == [
        (PUBLIC, s.https_port, True),
        (PUBLIC, s.http_port, True),
    ]
    assert records[0]["method"] == "CONNECT" and records[1]["method"] == "POST"
    for record in records:
        assert record["address"] == s.bridge
        assert record["reason"] == ""
        assert record["bytes_out"] > 0 and record["bytes_in"] > 0
        assert record["started_at"].endswith(("Z", "+00:00"))


@pytest.mark.network
def test_requests_and_httpx_work_through_the_environment(
    run_egress: RunEgress, egress_servers: EgressServers, run_id: str
) -> None:
    s = egress_servers
    https = f"https://{PUBLIC}:{s.https_port}/{run_id}"
    http = f"http://{PUBLIC}:{s.http_port}/{run_id}"
    result = run_egress(
        [
            {"kind": "requests", "url": f"{https}/requests-tls"},
            {"kind": "requests", "url": f"{http}/requests-plain"},
            {"kind": "httpx", "url": f"{https}/httpx-tls"},
            {"kind": "httpx", "url": f"{http}/httpx-plain", "method": "PUT", "body": "x"},
        ],
        egress=[f"{PUBLIC}:{s.https_port}", f"{PUBLIC}:{s.http_port}"],
        requirements=[f"requests=={version('requests')}", f"httpx=={version('httpx')}"],
    )
    assert [r.get("status") for r in result.output] == [200] * 4, result.output
    assert [e.path.rsplit("/", 1)[1] for e in s.log.matching(run_id)] == [
        "requests-tls",
        "requests-plain",
        "httpx-tls",
        "httpx-plain",
    ]
    assert [r["allowed"] for r in result.connections] == [True] * 4


def test_an_egress_step_gets_only_its_socket_and_the_proxy_environment(
    run_egress: RunEgress,
    egress_servers: EgressServers,
    egress_gateway: RecordingGateway,
    docker_client: docker.DockerClient,
    run_id: str,
) -> None:
    seen: dict[str, Any] = {}
    result = run_egress(
        [
            {"kind": "listdir", "path": EGRESS_DIR},
            {"kind": "listdir", "path": "/run/stepwell"},
            {"kind": "env"},
            {"kind": "print", "text": "ready", "sleep": 1},
        ],
        egress=[f"{PUBLIC}:{egress_servers.http_port}"],
        on_log=_inspect_while_running(docker_client, run_id, seen),
    )
    assert result.output[:2] == [{"entries": ["proxy.sock"]}, {"entries": ["egress"]}]
    assert result.output[2]["env"]["HTTPS_PROXY"] == EGRESS_PROXY_URL
    lease = egress_gateway.leases[-1]
    assert lease.rules == (f"{PUBLIC}:{egress_servers.http_port}",)
    assert len(lease.token) == 32 and int(lease.token, 16) >= 0
    config = seen["config"]
    assert config["HostConfig"]["NetworkMode"] == "none"
    assert not config["NetworkSettings"]["IPAddress"]
    assert not any(n.get("IPAddress") for n in config["NetworkSettings"]["Networks"].values())
    (mount,) = config["Mounts"]
    assert (mount["Type"], mount["Source"], mount["Destination"], mount["RW"]) == (
        "bind",
        lease.source,
        EGRESS_DIR,
        False,
    )
    env = dict(item.split("=", 1) for item in config["Config"]["Env"])
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        assert env[name] == EGRESS_PROXY_URL
    assert env["NO_PROXY"] == ""


def test_a_step_without_egress_has_no_network_mount_or_proxy(
    run_egress: RunEgress,
    egress_servers: EgressServers,
    egress_gateway: RecordingGateway,
    docker_client: docker.DockerClient,
    run_id: str,
) -> None:
    s = egress_servers
    leases_before = len(egress_gateway.leases)
    seen: dict[str, Any] = {}
    result = run_egress(
        [
            {"kind": "tcp", "host": s.bridge, "port": s.http_port},
            {"kind": "tcp", "host": "127.0.0.1", "port": 3128},
            {"kind": "urllib", "url": f"http://{PUBLIC}:{s.http_port}/{run_id}"},
            {"kind": "exists", "path": EGRESS_DIR},
            {"kind": "env"},
            {"kind": "print", "text": "ready"},
        ],
        on_log=_inspect_while_running(docker_client, run_id, seen),
    )
    assert all("error" in r for r in result.output[:3]), result.output
    assert result.output[3:5] == [{"exists": False}, {"env": {}}]
    assert s.log.matching(run_id) == []
    assert result.connections == []
    assert len(egress_gateway.leases) == leases_before
    config = seen["config"]
    assert config["HostConfig"]["NetworkMode"] == "none"
    assert config["Mounts"] == []
    assert not any("proxy" in item.lower() for item in config["Config"]["Env"])


def test_egress_mode_off_and_declared_withhold_what_the_operator_did_not_allow(
    run_egress: RunEgress,
    egress_servers: EgressServers,
    egress_gateway: RecordingGateway,
    egress_config: SandboxConfig,
    docker_client: docker.DockerClient,
    run_id: str,
) -> None:
    s = egress_servers
    config = replace(egress_config, egress_mode="off")
    off = Sandbox(docker_client, config, egress=egress_gateway)
    declared = Sandbox(
        docker_client, replace(config, egress_mode="declared"), egress=egress_gateway
    )
    any_public = Sandbox(
        docker_client, replace(config, egress_mode="any-public"), egress=egress_gateway
    )
    url = f"http://{PUBLIC}:{s.http_port}/{run_id}"
    leases = len(egress_gateway.leases)

    result = run_egress(
        [{"kind": "urllib", "url": f"{url}/off"}, {"kind": "exists", "path": EGRESS_DIR}],
        egress=[f"{PUBLIC}:{s.http_port}"],
        sandbox=off,
    )
    assert "error" in result.output[0] and result.output[1] == {"exists": False}
    assert result.logs.startswith(
        f"[stepwell: egress {PUBLIC}:{s.http_port} ignored: this installation gives steps no "
        "network (STEPWELL_EGRESS=off)]\n"
    )
    result = run_egress(
        [{"kind": "urllib", "url": f"{url}/declared"}, {"kind": "exists", "path": EGRESS_DIR}],
        egress=[f"*:{s.http_port}"],
        sandbox=declared,
    )
    assert "error" in result.output[0] and result.output[1] == {"exists": False}
    assert f"[stepwell: egress *:{s.http_port} ignored: this installation allows only" in (
        result.logs
    )
    assert len(egress_gateway.leases) == leases  # neither execution got a lease
    assert s.log.matching(run_id) == []

    result = run_egress(
        [{"kind": "urllib", "url": f"{url}/declared-named"}],
        egress=[f"*:{s.http_port}", f"{PUBLIC}:{s.http_port}"],
        sandbox=declared,
    )
    assert egress_gateway.leases[-1].rules == (f"{PUBLIC}:{s.http_port}",)
    result = run_egress(
        [{"kind": "urllib", "url": f"{url}/any-public"}],
        egress=[f"*:{s.http_port}"],
        sandbox=any_public,
    )
    assert result.output[0]["status"] == 200
    assert egress_gateway.leases[-1].rules == (f"*:{s.http_port}",)
    assert [e.path for e in s.log.matching(run_id)] == [
        f"/{run_id}/declared-named",
        f"/{run_id}/any-public",
    ]


def test_the_proxy_container_is_hardened_and_labelled(
    egress_gateway: RecordingGateway,
    egress_servers: EgressServers,
    docker_client: docker.DockerClient,
) -> None:
    proxy_id = egress_gateway.proxy_container_id
    assert proxy_id is not None
    info = docker_client.api.inspect_container(proxy_id)
    host, config = info["HostConfig"], info["Config"]
    assert config["User"] == PROXY_USER and not config["User"].startswith(("0", "65534"))
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
    assert host["ReadonlyRootfs"] is True and host["Privileged"] is False
    assert "no-new-privileges:true" in host["SecurityOpt"]
    assert host["PidsLimit"] > 0 and host["Memory"] > 0
    assert host["NetworkMode"] == "bridge" and host["Dns"] == [egress_servers.bridge]
    assert not host["PortBindings"] and not host["Binds"]
    assert [(m["Type"], m["Name"], m["Destination"]) for m in info["Mounts"]] == [
        ("volume", VOLUME, VOLUME_TARGET)
    ]
    assert config["OpenStdin"] and config["StdinOnce"] and host["AutoRemove"]
    assert config["Labels"][labels.ROLE] == labels.ROLE_EGRESS
    assert config["Labels"][labels.OWNER] == labels.owner_id()
    assert labels.EXPIRES not in config["Labels"]
    assert config["Image"].startswith("stepwell/egress-proxy:")
    volume = docker_client.api.inspect_volume(VOLUME)
    assert volume["Labels"][labels.ROLE] == labels.ROLE_EGRESS


class _EngineOverTcp:
    """The local engine's Unix socket relayed to a TCP port: a worker that reaches its engine
    over the network, as with ``WORKER_DOCKER_HOST=tcp://...``, and has no other way to it."""

    def __init__(self, unix_path: str) -> None:
        self._unix_path = unix_path
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"tcp://127.0.0.1:{self._listener.getsockname()[1]}"
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            engine = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            engine.connect(self._unix_path)
            for source, target in ((client, engine), (engine, client)):
                threading.Thread(target=_pipe, args=(source, target), daemon=True).start()

    def close(self) -> None:
        self._listener.close()


def _pipe(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)


def test_egress_works_when_the_engine_is_reached_over_tcp(
    egress_config: SandboxConfig, egress_servers: EgressServers, run_id: str, base_image: str
) -> None:
    """Everything the gateway does (image, volume, proxy, attach, the lease's bind mount) goes
    through the Engine API, so a worker that reaches its engine over TCP gets egress too."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    assert host.startswith("unix://"), "this test relays a local engine's Unix socket"
    relay = _EngineOverTcp(host.removeprefix("unix://"))
    client = docker.DockerClient(base_url=relay.url, timeout=120)
    sandbox = Sandbox(client, egress_config)
    try:
        s = egress_servers
        bundle = egress_bundle([f"{PUBLIC}:{s.http_port}"])
        attempts = [{"kind": "urllib", "url": f"http://{PUBLIC}:{s.http_port}/{run_id}/tcp"}]
        envelope = Envelope(input={"attempts": attempts}, context=StepContext(run_id=run_id))
        result = sandbox.run(bundle, envelope)
    finally:
        sandbox.close()
        client.close()
        relay.close()
    assert result.ok, (result.error, result.logs)
    assert result.output[0].get("status") == 200, result.output
    assert [(e.server, e.path) for e in s.log.matching(run_id)] == [
        ("public-http", f"/{run_id}/tcp")
    ]
    assert [c["allowed"] for c in result.connections] == [True]
    assert relay.connections > 0  # the engine was reached through the relay only
