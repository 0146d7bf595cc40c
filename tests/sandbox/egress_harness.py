"""A real egress proxy process and real upstream servers, for tests that attack the proxy.

The proxy runs exactly as in its container: the files laid out as ``sandbox/egress/proxy.py``
documents (only ``PROXY_MODULES``, an empty ``step_sdk/__init__.py``, ``step_sdk/egress.py`` and
h11), started with ``python3 -I -S`` so nothing outside that layout can be imported.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h11

import sandbox.egress
from sandbox.egress import PROXY_MODULES

REPO = Path(__file__).resolve().parents[2]
IO_TIMEOUT_S = 10.0


def build_layout(target: Path) -> Path:
    """Lay the proxy's files out as the image does; return the path of ``proxy.py``."""
    package = Path(sandbox.egress.__file__).parent
    (target / "sandbox" / "egress").mkdir(parents=True)
    (target / "sandbox" / "__init__.py").write_text("")
    for name in PROXY_MODULES:
        shutil.copy(package / name, target / "sandbox" / "egress" / name)
    (target / "step_sdk").mkdir()
    (target / "step_sdk" / "__init__.py").write_text("")
    shutil.copy(REPO / "step_sdk" / "egress.py", target / "step_sdk" / "egress.py")
    shutil.copytree(
        Path(h11.__file__).parent, target / "h11", ignore=shutil.ignore_patterns("__pycache__")
    )
    return target / "sandbox" / "egress" / "proxy.py"


class ProxyProcess:
    """The proxy program as a subprocess, driven over its stdin/stdout control protocol."""

    def __init__(self, program: Path) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="eg", dir="/tmp"))  # socket paths stay short
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", str(program), "--root", str(self.root)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._replies: queue.Queue[bytes] = queue.Queue()
        self._next_id = 0
        self.expected_exit = 0
        threading.Thread(target=self._read_replies, daemon=True).start()

    def _read_replies(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._replies.put(line)

    def call(self, op: str, **fields: Any) -> dict[str, Any]:
        """Send one request; return its reply (asserting it echoes the request's id)."""
        self._next_id += 1
        self.send_line(json.dumps({"op": op, "id": self._next_id, **fields}).encode())
        reply = self.reply()
        assert reply["id"] == self._next_id, reply
        return reply

    def send_line(self, line: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + b"\n")
        self.process.stdin.flush()

    def reply(self) -> dict[str, Any]:
        reply: dict[str, Any] = json.loads(self._replies.get(timeout=IO_TIMEOUT_S))
        return reply

    def configure(self, **overrides: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "production": False,
            "test_public": [],
            "max_connections": 50,
            "max_bytes": 100 * 1024 * 1024,
            "connect_timeout_s": 5.0,
            **overrides,
        }
        reply = self.call("configure", **fields)
        return reply

    def open(self, rules: list[str], ttl_s: float = 120.0) -> tuple[str, str]:
        """Open a lease; return (token, socket path)."""
        token = f"{self._next_id + 1:032x}"
        reply = self.call("open", token=token, rules=rules, ttl_s=ttl_s)
        assert reply["ok"], reply
        return token, reply["socket"]

    def close(self, token: str) -> list[dict[str, Any]]:
        """Close a lease after its connections ended; return its records."""
        self.wait_idle()
        reply = self.call("close", token=token)
        assert reply["ok"], reply
        records: list[dict[str, Any]] = reply["connections"]
        return records

    def wait_idle(self) -> None:
        """Wait until the proxy has finished (and recorded) every connection."""
        deadline = time.monotonic() + IO_TIMEOUT_S
        while self.call("ping")["connections"]:
            assert time.monotonic() < deadline, "the proxy still has live connections"
            time.sleep(0.02)

    def end(self) -> int:
        """Close stdin (the worker going away); return the exit status."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        return self.process.wait(timeout=IO_TIMEOUT_S)

    def stderr(self) -> str:
        assert self.process.stderr is not None
        return self.process.stderr.read().decode(errors="replace")


class Upstream(http.server.ThreadingHTTPServer):
    """A real HTTP server on 127.0.0.1 that records what it observes.

    ``GET /bytes/N`` answers N bytes; ``GET /hold/N`` sends N bytes of a longer body and then
    waits until the client's side of the connection ends; any request with a body gets
    ``echo <length>``. ``accepted``
    lists every TCP connection it accepted, ``requests`` every request (method, path, headers,
    body), ``ended`` counts connections whose handler finished.
    """

    daemon_threads = True

    def __init__(self, port: int = 0) -> None:
        self.accepted: list[tuple[str, int]] = []
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.ended = 0
        super().__init__(("127.0.0.1", port), _Handler)
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.accepted.append(client_address)
        return True

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Upstream
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle(self) -> None:
        try:
            super().handle()
        finally:
            self.server.ended += 1

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.requests.append((self.command, self.path, headers, body))
        if self.path.startswith("/hold/"):
            self.send_response(200)
            self.send_header("Content-Length", "999999999")
            self.end_headers()
            self.wfile.write(b"x" * int(self.path.rsplit("/", 1)[1]))
            self.wfile.flush()
            with contextlib.suppress(OSError):
                self.rfile.read(1)  # returns (or fails) when the proxy ends the connection
            return
        if self.path.startswith("/bytes/"):
            payload = b"x" * int(self.path.rsplit("/", 1)[1])
        else:
            payload = f"echo {len(body)}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_HEAD = _serve


def running_proxy(program: Path) -> Iterator[ProxyProcess]:
    """Fixture body: a proxy process that must exit as expected and leave no lease behind."""
    process = ProxyProcess(program)
    yield process
    assert process.end() == process.expected_exit, process.stderr()
    assert list(process.root.iterdir()) == [], "lease directories left behind"
    process.root.rmdir()


def running_upstream() -> Iterator[Upstream]:
    """Fixture body: an upstream server, stopped afterwards."""
    server = Upstream()
    yield server
    server.stop()


def public(server: Upstream) -> list[str]:
    """The ``test_public`` entry that makes ``server`` count as a public host."""
    return [f"127.0.0.1:{server.port}"]


def unix_connect(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(IO_TIMEOUT_S)
    sock.connect(path)
    return sock


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def exchange(path: str, request: bytes) -> bytes:
    """Send ``request`` on the lease socket; return everything the proxy answers."""
    with unix_connect(path) as sock:
        sock.sendall(request)
        return read_all(sock)


def open_tunnel(path: str, authority: str) -> tuple[socket.socket, bytes]:
    """Send ``CONNECT authority``; return the socket and the proxy's response head."""
    sock = unix_connect(path)
    sock.sendall(f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            break
        head += chunk
    return sock, head


def status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def one(records: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(records) == 1, records
    return records[0]
