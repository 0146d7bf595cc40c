"""A step cannot reconfigure the proxy, use another execution's lease, smuggle requests past the
checks or exceed its caps; the proxy's lifecycle (restart, janitor) holds. Each test asserts
what the host observed."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import docker
import pytest

from sandbox import labels
from sandbox.config import SandboxConfig
from sandbox.egress.gateway import EgressGateway
from sandbox.egress.image import ProxyImage
from sandbox.envelope import Envelope, StepContext
from sandbox.errors import SandboxError
from sandbox.janitor import collect_containers
from sandbox.launcher import Sandbox
from sandbox.result import StepResult
from tests.sandbox.egress_fixtures import (
    EgressServers,
    RecordingGateway,
    RunEgress,
    egress_bundle,
    start_gateway,
)

pytestmark = pytest.mark.docker
PUBLIC = "public.stepwell.test"


def _until(condition: object, what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_step_cannot_reach_the_engine_the_proxy_or_its_control_channel(
    run_egress: RunEgress,
    egress_servers: EgressServers,
    egress_gateway: RecordingGateway,
    run_id: str,
) -> None:
    s = egress_servers
    exempt = f"{s.bridge}:{s.private_port}"
    control = (
        f'{{"op":"configure","id":"x","production":false,"test_public":["{exempt}"],'
        '"max_connections":1000,"max_bytes":1000000000,"connect_timeout_s":10}\n'
        f'{{"op":"open","id":"y","token":"{"0" * 32}","rules":["*","*:{s.private_port}"],'
        '"ttl_s":600}\n'
    )
    result = run_egress(
        [
            {"kind": "exists", "path": "/var/run/docker.sock"},
            {"kind": "exists", "path": "/run/docker.sock"},
            {"kind": "tcp", "host": s.bridge, "port": 2375},
            {"kind": "urllib", "url": f"http://{s.bridge}:2375/containers/json"},
            # control JSON straight to the lease's socket, and through the forwarder
            {"kind": "raw", "unix": "/run/stepwell/egress/proxy.sock", "data": control},
            {"kind": "raw", "data": control},
            # the policy is what it was: the private port stays closed
            {"kind": "urllib", "url": f"http://{PUBLIC}:{s.private_port}/{run_id}"},
            {"kind": "urllib", "url": f"http://{s.bridge}:{s.private_port}/{run_id}"},
        ],
        egress=[f"{PUBLIC}:{s.http_port}", f"{s.bridge}:2375", f"{s.bridge}:{s.private_port}"],
    )
    out = result.output
    assert out[:2] == [{"exists": False}, {"exists": False}]
    assert "error" in out[2]
    assert out[3].get("status") != 200
    for raw in out[4:6]:
        assert raw["reply"].startswith("HTTP/1.1 4"), raw
    assert all(r.get("status") != 200 for r in out[6:]), out
    assert s.log.matching(run_id) == []
    assert not any(r["allowed"] for r in result.connections)
    # no lease was opened for the step's made-up token
    mountpoint = egress_gateway.leases[-1].source.rpartition("/")[0]
    assert not Path(mountpoint, "0" * 32).exists()


def _run_in_thread(
    sandbox: Sandbox, egress: list[str], attempts: list[dict[str, Any]], run_id: str
) -> tuple[threading.Thread, list[StepResult]]:
    results: list[StepResult] = []
    envelope = Envelope(input={"attempts": attempts}, context=StepContext(run_id=run_id))
    thread = threading.Thread(
        target=lambda: results.append(sandbox.run(egress_bundle(egress), envelope))
    )
    thread.start()
    return thread, results


def test_a_step_cannot_use_another_executions_lease(
    egress_sandbox: Sandbox,
    egress_gateway: RecordingGateway,
    egress_servers: EgressServers,
    run_id: str,
) -> None:
    s = egress_servers
    leases_before = len(egress_gateway.leases)
    # A holds a wide lease (the private port, listed literally) and waits
    first, first_result = _run_in_thread(
        egress_sandbox,
        [f"{PUBLIC}:{s.http_port}"],
        [{"kind": "print", "text": "holding", "sleep": 6}],
        run_id,
    )
    _until(lambda: len(egress_gateway.leases) > leases_before, "the first lease")
    other = egress_gateway.leases[leases_before]
    url = f"http://{PUBLIC}:{s.http_port}/{run_id}/stolen"
    stolen = [
        f"/egress/{other.token}/proxy.sock",
        f"/run/stepwell/{other.token}/proxy.sock",
        f"/run/stepwell/egress/../{other.token}/proxy.sock",
        f"{other.source}/proxy.sock",
    ]
    second, second_result = _run_in_thread(
        egress_sandbox,
        [f"{PUBLIC}:{s.private_port}"],  # B's own lease does not allow A's host:port
        [{"kind": "listdir", "path": "/run/stepwell/egress"}]
        + [{"kind": "exists", "path": path} for path in stolen]
        + [
            {"kind": "raw", "unix": path, "data": f"GET {url} HTTP/1.1\r\nHost: x\r\n\r\n"}
            for path in stolen
        ],
        run_id,
    )
    second.join(60)
    first.join(60)
    (b,) = second_result
    assert b.ok, b.error
    assert b.output[0] == {"entries": ["proxy.sock"]}
    assert b.output[1:5] == [{"exists": False}] * 4
    assert all("error" in r for r in b.output[5:]), b.output
    assert s.log.matching(run_id) == []
    assert first_result[0].ok
    tokens = {lease.token for lease in egress_gateway.leases}
    assert len(tokens) == len(egress_gateway.leases)  # never reused


def test_a_released_or_expired_lease_is_worth_nothing(
    egress_gateway: RecordingGateway, egress_servers: EgressServers
) -> None:
    rules = [f"{PUBLIC}:{egress_servers.http_port}"]
    released = egress_gateway.lease(rules, 60)
    socket_path = Path(released.source, "proxy.sock")
    assert socket_path.exists()  # this test runs on the engine's host
    assert egress_gateway.release(released) == []
    assert not Path(released.source).exists()
    with pytest.raises(FileNotFoundError), socket.socket(socket.AF_UNIX) as probe:
        probe.connect(str(socket_path))
    assert egress_gateway.release(released) == []  # a second close finds nothing

    expiring = egress_gateway.lease(rules, 0.5)
    _until(lambda: not Path(expiring.source).exists(), "the lease to expire")
    egress_gateway.release(expiring)


def _raw(data: str) -> dict[str, str]:
    return {"kind": "raw", "data": data}


def test_request_smuggling_is_refused(
    run_egress: RunEgress, egress_servers: EgressServers, run_id: str
) -> None:
    s = egress_servers
    public = f"{PUBLIC}:{s.http_port}"
    base = f"http://{public}/{run_id}"
    smuggled = f"GET /{run_id}/smuggled HTTP/1.1\r\nHost: {public}\r\n\r\n"
    result = run_egress(
        [
            _raw(
                f"POST {base}/cl-te HTTP/1.1\r\nHost: {public}\r\nContent-Length: 4\r\n"
                f"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}"
            ),
            _raw(
                f"POST {base}/te-cl HTTP/1.1\r\nHost: {public}\r\nTransfer-Encoding: chunked\r\n"
                f"Content-Length: 4\r\n\r\n0\r\n\r\n{smuggled}"
            ),
            _raw(
                f"GET {base}/other-host HTTP/1.1\r\n"
                f"Host: private.stepwell.test:{s.private_port}\r\n\r\n"
            ),
            _raw(f"GET /{run_id}/origin-form HTTP/1.1\r\nHost: {public}\r\n\r\n"),
            _raw(
                f"GET {base}/two-lengths HTTP/1.1\r\nHost: {public}\r\nContent-Length: 0\r\n"
                "Content-Length: 5\r\n\r\n"
            ),
            # one request per connection: the pipelined second one is never forwarded
            _raw(f"GET {base}/first HTTP/1.1\r\nHost: {public}\r\n\r\n{smuggled}"),
        ],
        egress=[public],
    )
    replies = [r["reply"] for r in result.output]
    for reply in replies[:5]:
        assert reply.startswith("HTTP/1.1 4"), replies
    assert replies[5].startswith("HTTP/1.1 200"), replies
    assert [e.path for e in s.log.matching(run_id)] == [f"/{run_id}/first"]
    records = result.connections
    assert [r["allowed"] for r in records[:5]] == [False] * 5
    assert all(r["reason"] for r in records[:5])


@pytest.fixture(scope="module")
def capped_sandbox(
    docker_client: docker.DockerClient, egress_config: SandboxConfig, base_image: str
) -> Iterator[Sandbox]:
    config = replace(egress_config, egress_max_connections=3, egress_max_bytes=1024 * 1024)
    gateway = start_gateway(docker_client, config)
    yield Sandbox(docker_client, config, egress=gateway)
    gateway.close()


def test_the_connection_and_byte_caps_end_connections_and_are_recorded(
    run_egress: RunEgress, capped_sandbox: Sandbox, egress_servers: EgressServers, run_id: str
) -> None:
    s = egress_servers
    base = f"http://{PUBLIC}:{s.http_port}/{run_id}"
    result = run_egress(
        [{"kind": "urllib", "url": f"{base}/n{i}"} for i in range(5)],
        egress=[f"{PUBLIC}:{s.http_port}"],
        sandbox=capped_sandbox,
    )
    assert [r.get("status") for r in result.output][:3] == [200] * 3
    assert all(r.get("status") != 200 for r in result.output[3:])
    assert len(s.log.matching(run_id)) == 3
    assert [r["allowed"] for r in result.connections] == [True] * 3 + [False] * 2
    assert all("connection" in r["reason"] for r in result.connections[3:])

    big = 8 * 1024 * 1024
    result = run_egress(
        [{"kind": "urllib", "url": f"{base}/big?bytes={big}"}],
        egress=[f"{PUBLIC}:{s.http_port}"],
        sandbox=capped_sandbox,
    )
    assert "error" in result.output[0] or len(result.output[0]["body"]) < big
    (record,) = result.connections
    assert record["reason"] and "byte" in record["reason"]
    assert record["bytes_in"] + record["bytes_out"] <= 1024 * 1024 + 65536


def test_a_gateway_failure_is_a_sandbox_error_and_leaves_nothing(
    docker_client: docker.DockerClient,
    egress_config: SandboxConfig,
    egress_servers: EgressServers,
    run_id: str,
) -> None:
    def proxies() -> set[str]:
        found = docker_client.api.containers(
            all=True, filters={"label": f"{labels.ROLE}={labels.ROLE_EGRESS}"}
        )
        return {c["Id"] for c in found}

    before = proxies()
    # production mode with a test exemption: the proxy refuses its configuration
    config = replace(egress_config, production=True)
    gateway = EgressGateway(docker_client, config)
    sandbox = Sandbox(docker_client, config, egress=gateway)
    envelope = Envelope(input={"attempts": []}, context=StepContext(run_id=run_id))
    with pytest.raises(SandboxError, match="test_public"):
        sandbox.run(egress_bundle([f"{PUBLIC}:{egress_servers.http_port}"]), envelope)
    gateway.close()
    _until(lambda: proxies() <= before, "the refused proxy to go")


def test_a_dead_proxy_is_replaced_on_the_next_lease(
    docker_client: docker.DockerClient, egress_config: SandboxConfig, base_image: str
) -> None:
    gateway = start_gateway(docker_client, egress_config)
    try:
        first = gateway.proxy_container_id
        assert first is not None
        lease = gateway.lease(["public.stepwell.test"], 30)
        docker_client.api.kill(first)
        _until(lambda: gateway.proxy_container_id is None, "the gateway to notice")
        with pytest.raises(SandboxError):
            gateway.release(lease)
        shutil.rmtree(lease.source)  # a killed proxy leaves its lease directories behind
        gateway.release(gateway.lease(["public.stepwell.test"], 30))
        assert gateway.proxy_container_id not in (None, first)
    finally:
        gateway.close()
    # closing ends the proxy (its stdin closes) and the engine removes it
    _until(lambda: not docker_client.api.containers(all=True, filters={"id": first}), "removal")


def test_a_proxy_dying_mid_step_loses_its_records_but_not_the_steps_result(
    docker_client: docker.DockerClient,
    egress_config: SandboxConfig,
    egress_servers: EgressServers,
    base_image: str,
    run_id: str,
) -> None:
    """The step has run (and done whatever it does) by the time its records are collected:
    failing it then would make Temporal run it again, so the loss is recorded instead."""
    gateway = start_gateway(docker_client, egress_config)
    sandbox = Sandbox(docker_client, egress_config, egress=gateway)
    started = threading.Event()

    def on_log(data: bytes) -> None:
        if b"running" in data:
            started.set()

    attempts = [{"kind": "print", "text": "running", "sleep": 3}]
    envelope = Envelope(input={"attempts": attempts}, context=StepContext(run_id=run_id))
    bundle = egress_bundle([f"{PUBLIC}:{egress_servers.http_port}"])
    try:
        with ThreadPoolExecutor(1) as pool:
            future = pool.submit(sandbox.run, bundle, envelope, on_log=on_log)
            assert started.wait(60), "the step did not start"
            proxy = gateway.proxy_container_id
            assert proxy is not None
            docker_client.api.kill(proxy)
            result = future.result(timeout=120)
    finally:
        gateway.close()
    assert result.ok, (result.error, result.logs)
    [lost] = result.connections
    assert lost["host"] == "*" and lost["allowed"] is False
    assert lost["reason"].startswith("the egress proxy's records of this execution were lost")


def test_the_janitor_removes_a_proxy_whose_owner_is_gone_and_keeps_a_live_one(
    docker_client: docker.DockerClient, egress_gateway: RecordingGateway, base_image: str
) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    image = ProxyImage(docker_client).ensure(base_image)
    orphan = docker_client.api.create_container(
        image,
        command=["python3", "-c", "import time; time.sleep(120)"],
        labels={
            labels.ROLE: labels.ROLE_EGRESS,
            labels.OWNER: f"{socket.gethostname()}:{dead.pid}",
            labels.CREATED: str(int(time.time())),
        },
    )["Id"]
    docker_client.api.start(orphan)
    assert not os.path.exists(f"/proc/{dead.pid}")
    removed = collect_containers(docker_client)
    assert orphan in removed
    assert egress_gateway.proxy_container_id is not None
    assert egress_gateway.proxy_container_id not in removed


def test_a_sandbox_starts_its_proxy_on_the_first_egress_step_and_stops_it_on_close(
    docker_client: docker.DockerClient,
    egress_config: SandboxConfig,
    egress_servers: EgressServers,
    base_image: str,
    run_id: str,
) -> None:
    def ours() -> list[str]:
        found = docker_client.api.containers(
            filters={"label": [f"{labels.ROLE}={labels.ROLE_EGRESS}", f"{labels.OWNER}={owner}"]}
        )
        return [c["Id"] for c in found]

    owner = labels.owner_id()
    sandbox = Sandbox(docker_client, egress_config)
    before = set(ours())
    envelope = Envelope(input={"attempts": []}, context=StepContext(run_id=run_id))
    assert sandbox.run(egress_bundle(), envelope).ok
    assert set(ours()) == before  # no egress, no proxy
    public = f"{PUBLIC}:{egress_servers.http_port}"
    url = f"http://{public}/{run_id}"
    envelope = replace(envelope, input={"attempts": [{"kind": "urllib", "url": url}]})
    result = sandbox.run(egress_bundle([public]), envelope)
    assert result.output[0]["status"] == 200
    (started,) = set(ours()) - before
    sandbox.close()
    _until(lambda: started not in ours(), "the proxy to stop")


def test_concurrent_leases_get_distinct_tokens_and_all_close(
    egress_gateway: RecordingGateway,
) -> None:
    def cycle(_: int) -> tuple[str, str]:
        lease = egress_gateway.lease(["public.stepwell.test"], 60)
        assert Path(lease.source, "proxy.sock").exists()
        egress_gateway.release(lease)
        return lease.token, lease.source

    with ThreadPoolExecutor(8) as pool:
        done = list(pool.map(cycle, range(40)))
    assert len({token for token, _ in done}) == 40
    assert not any(Path(source).exists() for _, source in done)


_DYING_WORKER = """
import os, sys
from pathlib import Path
import docker
from sandbox.config import SandboxConfig
from sandbox.egress.gateway import EgressGateway
gateway = EgressGateway(docker.from_env(), SandboxConfig(cache_dir=Path(sys.argv[1])))
gateway.lease(["public.stepwell.test"], 600)
print(gateway.proxy_container_id, flush=True)
os._exit(0)  # no close: the process just ends, as a crashed worker does
"""


def test_a_proxy_whose_worker_dies_goes_away_by_itself(
    docker_client: docker.DockerClient, sandbox_config: SandboxConfig, base_image: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _DYING_WORKER, str(sandbox_config.cache_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    proxy_id = done.stdout.strip()
    assert proxy_id
    _until(
        lambda: not docker_client.api.containers(all=True, filters={"id": proxy_id}),
        "the orphaned proxy to exit and be removed",
    )
