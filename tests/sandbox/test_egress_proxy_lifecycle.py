"""The egress proxy program's caps, lease lifecycle and control channel, run as a real process.

As in test_egress_proxy_process.py, each test drives the proxy over its stdin/stdout control
protocol and asserts what the proxy recorded and what the real upstream server observed; the
last test runs the tunnel in-process, with and without splice(2).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from pathlib import Path

import pytest

from sandbox.egress.lease import Lease
from sandbox.egress.records import ConnectionRecord
from sandbox.egress.settings import ProxySettings
from sandbox.egress.tunnel import run_tunnel
from tests.sandbox.egress_harness import (
    IO_TIMEOUT_S,
    ProxyProcess,
    Upstream,
    exchange,
    one,
    open_tunnel,
    public,
    read_all,
    status,
    unix_connect,
)

# Caps -----------------------------------------------------------------------------------------


def test_connections_beyond_the_cap_are_refused_and_recorded(
    proxy: ProxyProcess, upstream: Upstream
) -> None:
    proxy.configure(test_public=public(upstream), max_connections=2)
    token, path = proxy.open([f"127.0.0.1:{upstream.port}"])
    statuses = []
    for _ in range(3):
        response = exchange(
            path,
            f"GET http://127.0.0.1:{upstream.port}/bytes/1 HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{upstream.port}\r\n\r\n".encode(),
        )
        statuses.append(status(response))

    assert statuses == [200, 200, 429]
    assert len(upstream.accepted) == 2
    records = proxy.close(token)
    assert [r["reason"] for r in records[:2]] == ["", ""]
    assert records[2]["allowed"] is False
    assert "connection cap reached (2 connections per execution)" in records[2]["reason"]


def test_the_byte_cap_cuts_the_connection_and_is_recorded(
    proxy: ProxyProcess, upstream: Upstream
) -> None:
    proxy.configure(test_public=public(upstream), max_bytes=50_000)
    token, path = proxy.open([f"127.0.0.1:{upstream.port}"])
    sock, head = open_tunnel(path, f"127.0.0.1:{upstream.port}")
    request = b"GET /bytes/1000000 HTTP/1.0\r\n\r\n"
    sock.sendall(request)
    received = read_all(sock)
    sock.close()

    assert head.startswith(b"HTTP/1.1 200 ")
    assert upstream.requests[0][1] == "/bytes/1000000"
    assert len(received) == 50_000 - len(request)
    record = one(proxy.close(token))
    assert record["allowed"] is True
    assert "byte cap reached (50000 bytes per execution)" in record["reason"]
    assert record["bytes_out"] + record["bytes_in"] == 50_000


def test_the_byte_cap_is_shared_by_all_connections_of_a_lease(
    proxy: ProxyProcess, upstream: Upstream
) -> None:
    proxy.configure(test_public=public(upstream), max_bytes=5_000)
    token, path = proxy.open([f"127.0.0.1:{upstream.port}"])
    request = (
        f"GET http://127.0.0.1:{upstream.port}/bytes/3000 HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{upstream.port}\r\n\r\n"
    ).encode()
    first = exchange(path, request)
    second = exchange(path, request)

    assert status(first) == 200 and first.endswith(b"x" * 3000)
    assert not second.endswith(b"x" * 3000)
    records = proxy.close(token)
    assert records[0]["reason"] == ""
    assert "byte cap reached" in records[1]["reason"]
    assert sum(r["bytes_out"] + r["bytes_in"] for r in records) == 5_000


def test_a_connect_that_does_not_complete_in_time_is_cut_and_recorded(
    proxy: ProxyProcess,
) -> None:
    # A listening socket with a full accept queue: the kernel drops further SYNs, so a
    # connect never completes.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT_S)
    try:
        proxy.configure(test_public=[f"127.0.0.1:{port}"], connect_timeout_s=0.5)
        token, path = proxy.open([f"127.0.0.1:{port}"])
        sock, head = open_tunnel(path, f"127.0.0.1:{port}")
        sock.close()
        record = one(proxy.close(token))
    finally:
        filler.close()
        listener.close()

    assert status(head) == 504
    assert record["allowed"] is True
    assert record["address"] == "127.0.0.1"
    assert "connect timed out after 0.5 s (connect timeout)" in record["reason"]


def test_a_connection_refused_by_the_remote_host_is_recorded(proxy: ProxyProcess) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    proxy.configure(test_public=[f"127.0.0.1:{port}"])
    token, path = proxy.open([f"127.0.0.1:{port}"])
    sock, head = open_tunnel(path, f"127.0.0.1:{port}")
    sock.close()

    assert status(head) == 502
    assert "connect to 127.0.0.1 port" in one(proxy.close(token))["reason"]


def test_a_flood_of_refused_attempts_cannot_hide_an_allowed_connection(
    proxy: ProxyProcess, upstream: Upstream
) -> None:
    proxy.configure(max_connections=1000, test_public=public(upstream))
    allowed = f"127.0.0.1:{upstream.port}"
    token, path = proxy.open([allowed])
    for _ in range(205):
        exchange(path, b"CONNECT elsewhere.example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n")
    body = b"x" * 6000
    request = b"POST http://" + allowed.encode() + b"/leak HTTP/1.1\r\nHost: " + allowed.encode()
    reply = exchange(path, request + b"\r\nContent-Length: 6000\r\n\r\n" + body)
    assert status(reply) == 200
    records = proxy.close(token)

    refused = [r for r in records if not r["allowed"]]
    assert len(refused) == 51  # 50 one by one, then one summary of the rest
    assert refused[-1]["host"] == "*"
    assert refused[-1]["reason"] == "155 more connections not recorded one by one"
    [post] = [r for r in records if r["allowed"]]  # the data-carrying request, on its own
    assert (post["host"], post["port"], post["method"]) == ("127.0.0.1", upstream.port, "POST")
    assert post["bytes_out"] > 6000


def test_allowed_connections_beyond_200_are_summarized_per_host(
    proxy: ProxyProcess, upstream: Upstream
) -> None:
    proxy.configure(max_connections=1000, test_public=public(upstream))
    allowed = f"127.0.0.1:{upstream.port}"
    token, path = proxy.open([allowed])
    request = f"GET http://{allowed}/x HTTP/1.1\r\nHost: {allowed}\r\n\r\n".encode()
    for _ in range(205):
        assert status(exchange(path, request)) == 200
    records = proxy.close(token)

    assert len(records) == 201
    summary = records[-1]
    assert (summary["host"], summary["port"], summary["allowed"]) == (
        "127.0.0.1",
        upstream.port,
        True,
    )
    assert summary["reason"] == "5 more connections not recorded one by one"
    assert summary["bytes_out"] > 0 and summary["bytes_in"] > 0


# Lease lifecycle -------------------------------------------------------------------------------


def test_close_aborts_live_tunnels_and_removes_the_socket(
    proxy: ProxyProcess, upstream: Upstream
) -> None:
    proxy.configure(test_public=public(upstream))
    token, path = proxy.open([f"127.0.0.1:{upstream.port}"])
    sock, head = open_tunnel(path, f"127.0.0.1:{upstream.port}")
    assert head.startswith(b"HTTP/1.1 200 ")
    request = b"GET /hold/1000 HTTP/1.0\r\n\r\n"
    sock.sendall(request)
    received = b""
    while not received.endswith(b"x" * 1000):  # the response has started, and then stalls
        received += sock.recv(65536)

    reply = proxy.call("close", token=token)
    assert read_all(sock) == b""  # the tunnel was cut
    sock.close()

    record = one(reply["connections"])
    assert (record["allowed"], record["reason"]) == (True, "lease closed")
    assert (record["bytes_out"], record["bytes_in"]) == (len(request), len(received))
    assert not os.path.exists(os.path.dirname(path))
    with pytest.raises(FileNotFoundError):
        unix_connect(path)
    deadline = time.monotonic() + IO_TIMEOUT_S
    while upstream.ended < 1:  # the server saw its connection end
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert proxy.call("close", token=token) == {"id": proxy._next_id, "ok": True, "connections": []}


def test_a_lease_expires_by_itself_after_its_ttl(proxy: ProxyProcess, upstream: Upstream) -> None:
    proxy.configure(test_public=public(upstream))
    token, path = proxy.open([f"127.0.0.1:{upstream.port}"], ttl_s=1.0)
    sock, head = open_tunnel(path, f"127.0.0.1:{upstream.port}")
    assert head.startswith(b"HTTP/1.1 200 ")

    sock.settimeout(IO_TIMEOUT_S)
    assert read_all(sock) == b""  # cut when the lease expired
    sock.close()
    deadline = time.monotonic() + IO_TIMEOUT_S
    while os.path.exists(os.path.dirname(path)):
        assert time.monotonic() < deadline, "the expired lease's directory is still there"
        time.sleep(0.02)
    with pytest.raises(FileNotFoundError):
        unix_connect(path)
    record = one(proxy.close(token))  # an expired lease keeps its records until collected
    assert record["reason"] == "lease expired"


def test_one_lease_cannot_use_another_leases_rules(proxy: ProxyProcess, upstream: Upstream) -> None:
    proxy.configure(test_public=public(upstream))
    token_a, _path_a = proxy.open([f"127.0.0.1:{upstream.port}"])
    token_b, path_b = proxy.open(["api.example.com"])
    sock, head = open_tunnel(path_b, f"127.0.0.1:{upstream.port}")
    sock.close()

    assert status(head) == 403
    assert upstream.accepted == []
    assert proxy.close(token_a) == []
    assert "not in this step's egress list" in one(proxy.close(token_b))["reason"]


def test_lease_directories_and_sockets_let_another_user_connect(proxy: ProxyProcess) -> None:
    proxy.configure()
    token, path = proxy.open(["api.example.com"])
    assert os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o755
    assert os.stat(path).st_mode & 0o777 == 0o666
    proxy.close(token)


# Control channel ---------------------------------------------------------------------------------


def test_configure_refuses_test_exemptions_in_production_and_exits(proxy: ProxyProcess) -> None:
    reply = proxy.configure(production=True, test_public=["127.0.0.1:8443"])

    assert reply["ok"] is False
    assert reply["error"].startswith("/test_public: ")
    assert "production" in reply["error"]
    assert proxy.process.wait(timeout=IO_TIMEOUT_S) == 2
    proxy.expected_exit = 2


def test_production_mode_without_exemptions_is_accepted(proxy: ProxyProcess) -> None:
    assert proxy.configure(production=True)["ok"] is True


def test_bad_control_requests_get_errors_naming_the_field(proxy: ProxyProcess) -> None:
    assert "configure first" in proxy.call("open", token="a" * 32, rules=[], ttl_s=1)["error"]
    assert proxy.configure(max_bytes=0)["error"].startswith("/max_bytes: ")
    assert proxy.configure(connect_timeout_s="5")["error"].startswith("/connect_timeout_s: ")
    assert proxy.configure(test_public=["localhost:80"])["error"].startswith("/test_public/0: ")
    assert proxy.configure()["ok"] is True
    assert proxy.configure()["error"].startswith("/op: ")
    assert proxy.call("open", token="../../etc", rules=[], ttl_s=1)["error"].startswith("/token: ")
    bad_rule = proxy.call("open", token="b" * 32, rules=["ok.example.com", "http://x"], ttl_s=1)
    assert bad_rule["error"].startswith("/rules/1: ")
    assert proxy.call("open", token="b" * 32, rules=[], ttl_s=0)["error"].startswith("/ttl_s: ")
    assert proxy.call("launch")["error"].startswith("/op: unknown op")
    assert proxy.call("close", token="c" * 32) == {
        "id": proxy._next_id,
        "ok": True,
        "connections": [],
    }
    proxy.send_line(b"not json")
    assert proxy.reply()["ok"] is False
    token, _path = proxy.open(["a.example.com"])
    assert proxy.call("open", token=token, rules=[], ttl_s=1)["error"].startswith("/token: ")
    assert proxy.call("ping") == {"id": proxy._next_id, "ok": True, "leases": 1, "connections": 0}


def test_end_of_input_closes_every_lease_and_exits(proxy: ProxyProcess, upstream: Upstream) -> None:
    proxy.configure(test_public=public(upstream))
    _token, path = proxy.open([f"127.0.0.1:{upstream.port}"])
    sock, head = open_tunnel(path, f"127.0.0.1:{upstream.port}")
    assert head.startswith(b"HTTP/1.1 200 ")

    assert proxy.end() == 0
    assert read_all(sock) == b""
    sock.close()
    assert list(proxy.root.iterdir()) == []


def test_sigterm_closes_every_lease_and_exits(proxy: ProxyProcess) -> None:
    proxy.configure()
    _token, path = proxy.open(["api.example.com"])
    proxy.process.send_signal(signal.SIGTERM)

    assert proxy.process.wait(timeout=IO_TIMEOUT_S) == 0
    assert not os.path.exists(path)


# The tunnel in-process, with and without splice(2) ---------------------------------------------


@pytest.mark.parametrize("splice", [True, False], ids=["splice", "copy"])
async def test_a_tunnel_moves_counts_and_caps_bytes_with_and_without_splice(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, splice: bool
) -> None:
    if not splice:
        monkeypatch.delattr(os, "splice")
    settings = ProxySettings(
        production=False,
        test_public=frozenset(),
        max_connections=1,
        max_bytes=3_000_000,
        connect_timeout_s=1.0,
    )
    lease = Lease(tmp_path, "0" * 32, (), settings)
    record = ConnectionRecord()
    step, step_peer = socket.socketpair()
    remote, remote_peer = socket.socketpair()
    for sock in (step, remote, step_peer, remote_peer):
        sock.setblocking(False)
    loop = asyncio.get_running_loop()

    async def remote_side() -> bytes:
        received = asyncio.create_task(_read_to_end(remote_peer))
        with contextlib.suppress(OSError):  # the tunnel is cut before all of it is sent
            await loop.sock_sendall(remote_peer, b"r" * 4_000_000)  # more than the cap allows
        return await received

    async def step_side() -> bytes:
        await loop.sock_sendall(step_peer, b"s" * 1000)
        step_peer.shutdown(socket.SHUT_WR)
        return await _read_to_end(step_peer)

    remote_task = asyncio.create_task(remote_side())
    step_task = asyncio.create_task(step_side())
    reason = await run_tunnel(lease, record, step, remote, b"early")
    step.close()
    remote.close()
    got_by_step, got_by_remote = await step_task, await remote_task
    for sock in (step_peer, remote_peer):
        sock.close()

    assert "byte cap reached (3000000 bytes per execution)" in reason
    assert got_by_remote == b"early" + b"s" * 1000
    assert got_by_step == b"r" * (3_000_000 - 1005)
    assert (record.bytes_out, record.bytes_in) == (1005, 3_000_000 - 1005)


async def _read_to_end(sock: socket.socket) -> bytes:
    loop = asyncio.get_running_loop()
    chunks = []
    while chunk := await loop.sock_recv(sock, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)
