"""Egress benchmark: what the enforcement path costs a step's HTTPS requests.

The same client code (``urllib.request``, a new connection and TLS handshake per request) runs
twice against one local HTTPS server:

* direct - in a host process, straight to the server;
* egress - inside a step's container, through the whole enforcement path (the runner's
  forwarder, the per-execution Unix socket, the egress proxy container with its policy, one DNS-
  free address check and its records).

Measured: the latency of N small requests (p50 and p95, in milliseconds, timed by the client
itself, so container start is not counted) and the throughput of a 20 MB download (MB/s, best of
3). The targets of issue 11: the path adds at most 5 ms at p50 and keeps at least 0.8x of the
direct throughput.

The server listens on the host's Docker bridge address, which the proxy refuses like every
private address; the bench exempts exactly that ``ip:port`` the way the tests do
(``SandboxConfig.egress_test_public``, development only). Run from the repository root:

    .venv/bin/python bench/egress.py [--requests N]
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import json
import math
import os
import ssl
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import docker
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sandbox.config import SandboxConfig
from sandbox.envelope import Envelope, StepContext
from sandbox.images import ImageBuilder
from sandbox.launcher import Sandbox
from step_sdk.bundle import build_bundle
from step_sdk.manifest import Limits, Manifest

CACHE_DIR = Path(__file__).resolve().parent.parent / ".stepwell" / "cache"
BIG_BYTES = 20 * 1000 * 1000
DOWNLOADS = 3
# The client, identical on the host and in the step: it times itself.
CLIENT = r"""
import json, ssl, sys, time, urllib.request

def measure(base, requests, downloads):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))
    small = []
    for _ in range(requests):
        start = time.perf_counter()
        with opener.open(base + "/small", timeout=30) as reply:
            reply.read()
        small.append((time.perf_counter() - start) * 1000)
    rates = []
    for _ in range(downloads):
        start = time.perf_counter()
        size = 0
        with opener.open(base + "/big", timeout=120) as reply:
            while chunk := reply.read(1 << 20):
                size += len(chunk)
        rates.append(size / 1e6 / (time.perf_counter() - start))
    return {"small_ms": small, "mb_per_s": rates}
"""
STEP_SOURCE = (
    CLIENT
    + "\ndef main(base, requests, downloads):\n    return measure(base, requests, downloads)\n"
)
HOST_SCRIPT = (
    CLIENT
    + "\nargs = sys.argv[1:]\nprint(json.dumps(measure(args[0], int(args[1]), int(args[2]))))\n"
)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    big = b"x" * BIG_BYTES

    def do_GET(self) -> None:
        body = self.big if self.path == "/big" else b"ok\n"
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


def _self_signed(directory: Path, address: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stepwell-bench")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def bridge_address(client: docker.DockerClient) -> str:
    """The host's address on Docker's default bridge (what containers reach the host at)."""
    config = client.networks.get("bridge").attrs["IPAM"]["Config"]
    return str(config[0]["Gateway"])


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile of ``samples`` (0 < p <= 100)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=50, help="small requests (default 50)")
    args = parser.parse_args(argv)
    requests: int = max(5, args.requests)

    client = docker.from_env(timeout=120)
    address = bridge_address(client)
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = _self_signed(Path(tmp), address)
        server = ThreadingHTTPServer(("0.0.0.0", 0), _Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_address[1]
        base = f"https://{address}:{port}"

        environment = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        direct = json.loads(
            subprocess.run(
                [sys.executable, "-c", HOST_SCRIPT, base, str(requests), str(DOWNLOADS)],
                check=True,
                capture_output=True,
                env=environment,
            ).stdout
        )

        config = SandboxConfig(
            cache_dir=CACHE_DIR,
            egress_mode="declared",
            egress_test_public=(f"{address}:{port}",),
        )
        ImageBuilder(client, config).ensure()  # the base image of this checkout
        sandbox = Sandbox(client, config)
        bundle = build_bundle(
            Manifest(
                name="bench.egress",
                version="1.0.0",
                entrypoint="step:main",
                egress=(f"{address}:{port}",),
                limits=Limits(timeout_s=300, cpus=2, memory_mb=512),
            ),
            {"step.py": STEP_SOURCE.encode()},
        )
        payload = {"base": base, "requests": requests, "downloads": DOWNLOADS}
        envelope = Envelope(input=payload, context=StepContext(run_id="bench-egress"))
        sandbox.run(bundle, envelope)  # warm-up: the bundle's layer and the proxy container
        result = sandbox.run(bundle, envelope)
        server.shutdown()
    if result.error is not None:
        print(f"the step failed: {result.error}\n{result.logs}", file=sys.stderr)
        return 1
    through = result.output
    allowed = [c for c in result.connections if c.get("allowed")]
    print(
        f"# {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {requests} requests, "
        f"{DOWNLOADS} downloads of {BIG_BYTES / 1e6:g} MB; {len(allowed)} connections recorded"
    )
    print(f"\n{'measurement':<28}{'direct':>10}{'egress':>10}{'added':>10}{'ratio':>9}")
    print("-" * 67)
    for label, p in (("request p50 ms", 50), ("request p95 ms", 95)):
        a, b = percentile(direct["small_ms"], p), percentile(through["small_ms"], p)
        print(f"{label:<28}{a:>10.2f}{b:>10.2f}{b - a:>10.2f}{b / a:>8.2f}x")
    a, b = max(direct["mb_per_s"]), max(through["mb_per_s"])
    print(f"{'download MB/s (best of 3)':<28}{a:>10.1f}{b:>10.1f}{'':>10}{b / a:>8.2f}x")
    added = percentile(through["small_ms"], 50) - percentile(direct["small_ms"], 50)
    print(
        f"\ntargets: added p50 <= 5 ms: {added:.2f} ms "
        f"({'met' if added <= 5 else 'missed'}); throughput >= 0.8x: {b / a:.2f}x "
        f"({'met' if b / a >= 0.8 else 'missed'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
