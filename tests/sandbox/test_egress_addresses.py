"""Egress reaches only listed hosts on public addresses, whatever the step asks for or DNS says.

The "public" test servers are exempted by exact ip:port (``egress_test_public``); everything else
on the host (the same address on another port, loopback, private and link-local addresses, other
containers, the proxy itself) must stay out of reach. Each test asserts what the host observed:
the servers' request logs, the DNS server's query log and the proxy's records.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from sandbox import labels
from sandbox.envelope import Envelope, StepContext
from sandbox.launcher import Sandbox, StepCancelled
from tests.sandbox.egress_dns import EgressDns
from tests.sandbox.egress_fixtures import (
    EgressServers,
    RecordingGateway,
    RunEgress,
    egress_bundle,
)

pytestmark = pytest.mark.docker
PUBLIC = "public.stepwell.test"


def _refused(result_output: list[dict[str, Any]]) -> bool:
    return all(r.get("status") != 200 for r in result_output)


def _get(url: str) -> dict[str, str]:
    return {"kind": "urllib", "url": url}


def test_an_unlisted_host_is_refused_before_any_lookup(
    run_egress: RunEgress, egress_servers: EgressServers, egress_dns: EgressDns, run_id: str
) -> None:
    s = egress_servers
    names = ["private.stepwell.test", "xpublic.stepwell.test", "public.stepwell.test.evil"]
    before = {name: egress_dns.queries(name) for name in names}
    result = run_egress(
        [_get(f"http://{name}:{s.http_port}/{run_id}") for name in names],
        egress=[f"{PUBLIC}:{s.http_port}"],
    )
    assert _refused(result.output), result.output
    assert [(r["host"], r["allowed"]) for r in result.connections] == [
        (name, False) for name in names
    ]
    assert all(r["reason"] for r in result.connections)
    assert {name: egress_dns.queries(name) for name in names} == before
    assert s.log.matching(run_id) == []


def test_an_allowed_host_on_an_unlisted_port_is_refused(
    run_egress: RunEgress, egress_servers: EgressServers, run_id: str
) -> None:
    s = egress_servers
    result = run_egress(
        [
            _get(f"http://{PUBLIC}:{s.private_port}/{run_id}"),
            _get(f"https://{PUBLIC}:{s.https_port}/{run_id}"),
            _get(f"http://{PUBLIC}/{run_id}"),
        ],
        egress=[f"{PUBLIC}:{s.http_port}"],
    )
    assert _refused(result.output), result.output
    assert [(r["port"], r["allowed"]) for r in result.connections] == [
        (s.private_port, False),
        (s.https_port, False),
        (80, False),
    ]
    assert s.log.matching(run_id) == []


def test_the_metadata_endpoint_is_refused_by_address_and_by_name(
    run_egress: RunEgress, egress_dns: EgressDns, run_id: str
) -> None:
    before = egress_dns.queries("metadata.stepwell.test")
    result = run_egress(
        [
            _get("http://169.254.169.254/latest/meta-data/"),
            _get("http://metadata.stepwell.test/latest/meta-data/"),
            {"kind": "urllib", "url": "https://metadata.stepwell.test/"},
        ],
        egress=["169.254.169.254:80", "metadata.stepwell.test:80", "metadata.stepwell.test"],
    )
    assert _refused(result.output), result.output
    assert [r["allowed"] for r in result.connections] == [False, False, False]
    # the name was looked up by the proxy, and its answer refused
    assert egress_dns.queries("metadata.stepwell.test") > before
    assert result.connections[1]["address"] in (None, "169.254.169.254")


def test_loopback_and_the_host_bridge_are_unreachable_where_a_server_listens(
    run_egress: RunEgress, egress_servers: EgressServers, run_id: str
) -> None:
    s = egress_servers
    port = s.private_port  # a server listens on 0.0.0.0 there, not exempted
    result = run_egress(
        [
            _get(f"http://127.0.0.1:{port}/{run_id}"),
            _get(f"http://{s.bridge}:{port}/{run_id}"),
            _get(f"http://{PUBLIC}:{port}/{run_id}"),
            _get(f"http://localhost:{port}/{run_id}"),
            {"kind": "tcp", "host": s.bridge, "port": port},
        ],
        egress=[f"127.0.0.1:{port}", f"{s.bridge}:{port}", f"{PUBLIC}:{port}", f"localhost:{port}"],
    )
    assert _refused(result.output[:4]), result.output
    assert "error" in result.output[4]  # no route at all without the proxy
    assert [r["allowed"] for r in result.connections] == [False] * 4
    assert s.log.matching(run_id) == []


def test_a_name_resolving_to_a_private_address_is_refused(
    run_egress: RunEgress, egress_servers: EgressServers, egress_dns: EgressDns, run_id: str
) -> None:
    before = egress_dns.queries("private.stepwell.test")
    result = run_egress(
        [_get(f"http://private.stepwell.test:{egress_servers.http_port}/{run_id}")],
        egress=[f"private.stepwell.test:{egress_servers.http_port}"],
    )
    assert _refused(result.output)
    (record,) = result.connections
    assert record["allowed"] is False and record["address"] in (None, "10.1.2.3")
    assert egress_dns.queries("private.stepwell.test") == before + 1


def test_dns_rebinding_cannot_switch_the_address_after_the_check(
    run_egress: RunEgress, egress_servers: EgressServers, egress_dns: EgressDns, run_id: str
) -> None:
    s = egress_servers
    name = "rebind.stepwell.test"
    before = egress_dns.queries(name)
    attempts = 6
    result = run_egress(
        [_get(f"http://{name}:{s.http_port}/{run_id}/{i}") for i in range(attempts)],
        egress=[f"{name}:{s.http_port}"],
    )
    records = result.connections
    assert len(records) == attempts
    # one lookup per connection: there was no second answer to switch to
    assert egress_dns.queries(name) - before == attempts
    allowed = [r for r in records if r["allowed"]]
    refused = [r for r in records if not r["allowed"]]
    # the answers alternate, so both kinds happened, and each went where it was checked
    assert allowed and refused
    assert all(r["address"] == s.bridge for r in allowed)
    assert all(r["address"] in (None, "127.0.0.1") for r in refused)
    assert len(s.log.matching(run_id)) == len(allowed)
    statuses = [r.get("status") for r in result.output]
    assert statuses.count(200) == len(allowed)


def _three_part(address: str) -> str:
    a, b, c, d = address.split(".")
    return f"{a}.{b}.{int(c) * 256 + int(d)}"


def test_non_canonical_ip_spellings_never_reach_a_private_address(
    run_egress: RunEgress, egress_servers: EgressServers, run_id: str
) -> None:
    s = egress_servers
    bridge = ipaddress.IPv4Address(s.bridge)
    octets = s.bridge.split(".")
    spellings = [
        "2130706433",
        "0x7f.1",
        "127.1",
        "0177.0.0.1",
        "[::ffff:127.0.0.1]",
        str(int(bridge)),
        ".".join(hex(int(o)) for o in octets),
        _three_part(s.bridge),
        f"[::ffff:{s.bridge}]",
    ]
    result = run_egress(
        [_get(f"http://{host}:{s.http_port}/{run_id}") for host in spellings],
        # both listed literally, in canonical form: still no loopback, and no spelling of the
        # exempted test address is that address's literal listing
        egress=[f"{PUBLIC}:{s.http_port}", f"127.0.0.1:{s.http_port}"],
    )
    assert _refused(result.output), result.output
    assert len(result.connections) == len(spellings)
    assert not any(r["allowed"] for r in result.connections)
    assert s.log.matching(run_id) == []


def test_ipv6_forms_of_local_addresses_are_refused_even_when_listed(
    run_egress: RunEgress, egress_servers: EgressServers, run_id: str
) -> None:
    port = egress_servers.http_port
    forms = [
        "::1",
        "::ffff:7f00:1",  # IPv4-mapped 127.0.0.1
        "::7f00:1",  # IPv4-compatible 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b:1::a01:203",  # local-use NAT64 of 10.1.2.3
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "fe80::1",
        "fd00::1",
        "fec0::1",
        "ff02::1",
        "::",
    ]
    result = run_egress(
        [_get(f"http://[{form}]:{port}/{run_id}") for form in forms]
        + [_get(f"http://loopback6.stepwell.test:{port}/{run_id}")],
        egress=[f"[{ipaddress.IPv6Address(f).compressed}]:{port}" for f in forms]
        + [f"loopback6.stepwell.test:{port}"],
    )
    assert _refused(result.output), result.output
    assert len(result.connections) == len(forms) + 1
    assert not any(r["allowed"] for r in result.connections)
    assert egress_servers.log.matching(run_id) == []


@pytest.fixture
def neighbour(docker_client: docker.DockerClient, base_image: str) -> Iterator[tuple[Any, str]]:
    """A container on the default bridge running an HTTP server on port 8000."""
    container = docker_client.containers.run(
        base_image,
        ["python3", "-m", "http.server", "8000", "--bind", "0.0.0.0"],
        detach=True,
        user="65534:65534",
        labels={"stepwell.test": "egress-neighbour"},
    )
    try:
        container.reload()
        address = container.attrs["NetworkSettings"]["IPAddress"]
        deadline = time.monotonic() + 20
        while True:  # wait until it listens, so "saw nothing" means something
            with contextlib.suppress(OSError), socket.create_connection((address, 8000), 1):
                break
            assert time.monotonic() < deadline, "the neighbour container never listened"
            time.sleep(0.2)
        yield container, address
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)


def _until_running(client: docker.DockerClient, run_id: str) -> None:
    deadline = time.monotonic() + 30
    while not client.api.containers(filters={"label": f"{labels.RUN_ID}={run_id}"}):
        assert time.monotonic() < deadline, "the step container never ran"
        time.sleep(0.1)


def test_other_containers_and_the_proxy_itself_are_unreachable(
    run_egress: RunEgress,
    egress_sandbox: Sandbox,
    egress_gateway: RecordingGateway,
    docker_client: docker.DockerClient,
    neighbour: tuple[Any, str],
    run_id: str,
) -> None:
    container, address = neighbour
    # a long-running step container, even one with egress, has no address to attack
    holding = Envelope(
        input={"attempts": [{"kind": "print", "text": "holding", "sleep": 30}]},
        context=StepContext(run_id=run_id),
    )
    cancel = threading.Event()

    def hold() -> None:
        with contextlib.suppress(StepCancelled):
            egress_sandbox.run(egress_bundle([PUBLIC]), holding, cancel=cancel)

    step = threading.Thread(target=hold)
    step.start()
    try:
        _until_running(docker_client, run_id)
        (summary,) = docker_client.api.containers(filters={"label": f"{labels.RUN_ID}={run_id}"})
        networks = summary["NetworkSettings"]["Networks"]
        assert not any(n.get("IPAddress") for n in networks.values())
    finally:
        cancel.set()
        step.join(30)
    proxy_id = egress_gateway.proxy_container_id
    assert proxy_id is not None
    proxy_address = docker_client.api.inspect_container(proxy_id)["NetworkSettings"]["IPAddress"]
    log_before = container.logs()
    result = run_egress(
        [
            _get(f"http://{address}:8000/{run_id}"),
            {"kind": "urllib", "url": f"https://{address}:8000/{run_id}"},
            _get(f"http://{proxy_address}:3128/{run_id}"),
            _get(f"http://{proxy_address}:80/{run_id}"),
            {"kind": "tcp", "host": address, "port": 8000},
        ],
        egress=[f"{address}:8000", f"{proxy_address}:3128", f"{proxy_address}:80"],
    )
    assert _refused(result.output[:4]), result.output
    assert "error" in result.output[4]
    assert not any(r["allowed"] for r in result.connections)
    assert container.logs() == log_before  # the neighbour's server logged no request
