"""Test servers for the egress tests, all on this host and observed by the test (no internet).

* HTTP and HTTPS servers on ``0.0.0.0``, reached by the proxy at the Docker bridge address and
  exempted from the address checks through ``egress_test_public`` (the "public" servers);
* an HTTP server on ``0.0.0.0`` that is NOT exempted (a host service a step must never reach);
* a DNS server on the bridge address, port 53, which the proxy uses (``egress_dns``; its
  answers are in ``tests/sandbox/egress_dns.py``).

Every server keeps a log of what it received, so a test asserts what the host observed.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import docker
import pytest

from sandbox.config import SandboxConfig
from sandbox.egress.gateway import EgressGateway, Lease
from sandbox.envelope import Envelope, StepContext
from sandbox.launcher import LogSink, Sandbox
from sandbox.result import StepResult
from step_sdk.bundle import Bundle, build_bundle
from step_sdk.manifest import Limits, Manifest
from tests.sandbox.egress_dns import ZONE, EgressDns


@dataclass
class Seen:
    """One request as a test server received it."""

    server: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class RequestLog:
    entries: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seen: Seen) -> None:
        with self.lock:
            self.entries.append(seen)

    def matching(self, marker: str) -> list[Seen]:
        """Requests whose path or headers mention ``marker`` (each test uses a unique one)."""
        with self.lock:
            return [
                e
                for e in self.entries
                if marker in e.path or any(marker in v for v in e.headers.values())
            ]


class _Handler(BaseHTTPRequestHandler):
    server_version = "stepwell-test"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        server: _Server = self.server  # type: ignore[assignment]
        server.log.add(Seen(server.name, self.command, self.path, dict(self.headers.items()), body))
        query = parse_qs(urlsplit(self.path).query)
        size = int(query.get("bytes", ["0"])[0])
        if size:
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            chunk = b"x" * 65536
            remaining = size
            try:
                while remaining:
                    part = chunk[: min(remaining, len(chunk))]
                    self.wfile.write(part)
                    remaining -= len(part)
            except OSError:
                pass
            return
        reply = f"{server.name} {self.command} {self.path} body={len(body)}".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _any


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, name: str, log: RequestLog, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("0.0.0.0", 0), _Handler)
        self.name = name
        self.log = log
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for the test names; returns (certificate, key) paths."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    names = ",".join(f"DNS:{n}.{ZONE}" for n in ("public", "rebind"))
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", f"/CN=public.{ZONE}"),
            *("-addext", f"subjectAltName={names}"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@dataclass
class EgressServers:
    """The running test servers and what they saw."""

    bridge: str
    https_port: int
    http_port: int
    private_port: int
    ca: str
    log: RequestLog
    _servers: list[_Server]

    @property
    def test_public(self) -> tuple[str, ...]:
        return (f"{self.bridge}:{self.https_port}", f"{self.bridge}:{self.http_port}")

    def close(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()


def start_servers(bridge: str, directory: Path) -> EgressServers:
    cert, key = make_certificate(directory)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    log = RequestLog()
    servers = [
        _Server("public-https", log, tls),
        _Server("public-http", log),
        _Server("private-http", log),
    ]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    return EgressServers(
        bridge=bridge,
        https_port=servers[0].port,
        http_port=servers[1].port,
        private_port=servers[2].port,
        ca=cert.read_text(),
        log=log,
        _servers=servers,
    )


def bridge_address(api: Any) -> str:
    """The engine host's address on Docker's default bridge (where containers reach the host)."""
    network = api.inspect_network("bridge")
    return str(network["IPAM"]["Config"][0]["Gateway"])


def port_is_free(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((address, port))
        except OSError:
            return False
    return True


# The step every egress test runs: it makes the attempts it is given and reports what it saw.
# kinds: "urllib" / "requests" / "httpx" (a URL through the environment's proxy settings),
# "raw" (bytes straight to the forwarder, or to a Unix socket path), "tcp" (a direct connect),
# "listdir" / "exists" (what the container's filesystem shows).
ATTEMPTS_STEP = r"""
import os, socket, ssl, urllib.error, urllib.request

def _read_all(sock, cap=262144):
    data = b""
    while len(data) < cap:
        try:
            part = sock.recv(65536)
        except OSError as exc:
            return data, str(exc)
        if not part:
            break
        data += part
    return data, ""

def _attempt(a, ca):
    kind = a["kind"]
    method = a.get("method", "GET")
    body = a.get("body")
    if kind == "urllib":
        context = ssl.create_default_context(cadata=ca)
        data = body.encode() if body is not None else None
        request = urllib.request.Request(a["url"], data=data, method=method)
        try:
            with urllib.request.urlopen(request, context=context, timeout=20) as response:
                return {"status": response.status, "body": response.read().decode(errors="replace")}
        except urllib.error.HTTPError as exc:
            return {"status": exc.code, "body": exc.read().decode(errors="replace")}
    if kind == "requests":
        import requests
        with open("/tmp/ca.pem", "w") as handle:
            handle.write(ca)
        response = requests.request(method, a["url"], data=body, verify="/tmp/ca.pem", timeout=20)
        return {"status": response.status_code, "body": response.text}
    if kind == "httpx":
        import httpx
        context = ssl.create_default_context(cadata=ca)
        with httpx.Client(verify=context, timeout=20) as client:
            response = client.request(method, a["url"], content=body)
        return {"status": response.status_code, "body": response.text}
    if kind == "raw":
        path = a.get("unix")
        if path:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(20)
            sock.connect(path)
        else:
            sock = socket.create_connection(("127.0.0.1", 3128), timeout=20)
        with sock:
            sock.sendall(a["data"].encode("latin-1"))
            if a.get("half_close", True):
                sock.shutdown(socket.SHUT_WR)
            data, error = _read_all(sock)
        return {"reply": data.decode("latin-1"), "read_error": error}
    if kind == "tcp":
        with socket.create_connection((a["host"], a["port"]), timeout=3):
            return {"connected": True}
    if kind == "listdir":
        return {"entries": sorted(os.listdir(a["path"]))}
    if kind == "exists":
        return {"exists": os.path.exists(a["path"])}
    if kind == "env":
        return {"env": {k: v for k, v in os.environ.items() if "proxy" in k.lower()}}
    if kind == "print":
        import sys, time
        print(a["text"], file=sys.stderr, flush=True)
        time.sleep(a.get("sleep", 0))
        return {}
    raise ValueError(kind)

def main(attempts, ca=""):
    results = []
    for a in attempts:
        try:
            results.append(_attempt(a, ca))
        except BaseException as exc:
            results.append({"error": f"{type(exc).__name__}: {exc}"})
    return results
"""


def egress_bundle(
    egress: Sequence[str] = (), *, requirements: Sequence[str] = (), timeout_s: float = 60
) -> Bundle:
    manifest = Manifest(
        name="tests.egress",
        version="1.0.0",
        entrypoint="step:main",
        egress=tuple(egress),
        requirements=tuple(requirements),
        limits=Limits(timeout_s=timeout_s),
    )
    return build_bundle(manifest, {"step.py": ATTEMPTS_STEP.encode()})


class RecordingGateway(EgressGateway):
    """The real gateway, remembering the leases it handed out (so a test can attack them)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.leases: list[Lease] = []

    def lease(self, rules: Sequence[str], ttl_s: float) -> Lease:
        lease = super().lease(rules, ttl_s)
        self.leases.append(lease)
        return lease


@pytest.fixture(scope="session")
def egress_bridge(docker_client: docker.DockerClient) -> str:
    return bridge_address(docker_client.api)


@pytest.fixture(scope="session")
def egress_servers(
    egress_bridge: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EgressServers]:
    servers = start_servers(egress_bridge, tmp_path_factory.mktemp("egress-tls"))
    yield servers
    servers.close()


@pytest.fixture(scope="session")
def egress_dns(egress_bridge: str) -> Iterator[EgressDns]:
    if not port_is_free(egress_bridge, 53):
        pytest.fail(f"the test DNS server needs {egress_bridge}:53, which is taken", pytrace=False)
    dns = EgressDns(egress_bridge)
    yield dns
    dns.close()


@pytest.fixture(scope="session")
def egress_config(
    sandbox_config: SandboxConfig, egress_servers: EgressServers, egress_dns: EgressDns
) -> SandboxConfig:
    return replace(
        sandbox_config,
        egress_dns=(egress_servers.bridge,),
        egress_test_public=egress_servers.test_public,
    )


def start_gateway(client: docker.DockerClient, config: SandboxConfig) -> RecordingGateway:
    """A gateway with its proxy already running (so the first test does not pay for it)."""
    gateway = RecordingGateway(client, config)
    gateway.release(gateway.lease(["public.stepwell.test"], 30))
    return gateway


@pytest.fixture(scope="session")
def egress_gateway(
    docker_client: docker.DockerClient, egress_config: SandboxConfig, base_image: str
) -> Iterator[RecordingGateway]:
    gateway = start_gateway(docker_client, egress_config)
    yield gateway
    gateway.close()


@pytest.fixture(scope="session")
def egress_sandbox(
    docker_client: docker.DockerClient, egress_config: SandboxConfig, egress_gateway: EgressGateway
) -> Sandbox:
    return Sandbox(docker_client, egress_config, egress=egress_gateway)


RunEgress = Callable[..., StepResult]


@pytest.fixture
def run_egress(egress_sandbox: Sandbox, egress_servers: EgressServers, run_id: str) -> RunEgress:
    """Run the attempts step with ``egress`` (and the test CA) under this test's run id."""

    def run(
        attempts: list[dict[str, Any]],
        egress: Sequence[str] = (),
        *,
        requirements: Sequence[str] = (),
        sandbox: Sandbox | None = None,
        on_log: LogSink | None = None,
    ) -> StepResult:
        bundle = egress_bundle(egress, requirements=requirements)
        envelope = Envelope(
            input={"attempts": attempts, "ca": egress_servers.ca},
            context=StepContext(run_id=run_id),
        )
        result = (sandbox or egress_sandbox).run(bundle, envelope, on_log=on_log)
        assert result.ok, (result.error, result.logs)
        return result

    return run
