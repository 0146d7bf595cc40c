"""The egress proxy program, run as a real process and attacked through its lease sockets.

Each test drives the proxy over its stdin/stdout control protocol, talks to a lease socket as a
step would, and asserts what the proxy recorded and what the real upstream server observed.
Upstream servers listen on 127.0.0.1; where a test needs one to count as public it is exempted
by ``test_public`` (exact address and port), exactly as the Docker tests exempt the bridge.
This file: what is carried and what is refused. Caps, leases and the control channel:
test_egress_proxy_lifecycle.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sandbox.egress_harness import (
    ProxyProcess,
    Upstream,
    exchange,
    one,
    open_tunnel,
    public,
    read_all,
    running_upstream,
    status,
    unix_connect,
)


@pytest.fixture
def other_upstream() -> Iterator[Upstream]:
    yield from running_upstream()


# Happy paths ---------------------------------------------------------------------------------


def test_connect_tunnel_to_an_allowed_host_is_carried_and_recorded_with_bytes(
    proxy: ProxyProcess, upstream: Upstream
) -> None:
    proxy.configure(test_public=public(upstream))
    token, path = proxy.open([f"127.0.0.1:{upstream.port}"])
    sock, head = open_tunnel(path, f"127.0.0.1:{upstream.port}")
    request = b"GET /bytes/300000 HTTP/1.0\r\n\r\n"
    sock.sendall(request)
    response = read_all(sock)
    sock.close()

    assert head.startswith(b"HTTP/1.1 200 ")
    assert response.endswith(b"x" * 300000)
    assert [(method, p) for method, p, _h, _b in upstream.requests] == [("GET", "/bytes/300000")]
    record = one(proxy.close(token))
    assert record["host"] == "127.0.0.1"
    assert record["port"] == upstream.port
    assert record["address"] == "127.0.0.1"
    assert record["method"] == "CONNECT"
    assert record["allowed"] is True
    assert record["reason"] == ""
    assert record["bytes_out"] == len(request)
    assert record["bytes_in"] == len(response)
    assert record["started_at"].endswith("Z")
    assert isinstance(record["duration_ms"], int)


def test_a_name_is_resolved_by_the_proxy_and_the_checked_address_is_connected(
    proxy: ProxyProcess, upstream: Upstream
) -> None:
    proxy.configure(test_public=[*public(upstream), f"[::1]:{upstream.port}"])
    token, path = proxy.open([f"localhost:{upstream.port}"])
    sock, head = open_tunnel(path, f"LOCALHOST.:{upstream.port}")
    sock.sendall(b"GET /bytes/10 HTTP/1.0\r\n\r\n")
    assert read_all(sock).endswith(b"x" * 10)
    sock.close()

    assert head.startswith(b"HTTP/1.1 200 ")
    assert len(upstream.accepted) == 1
    record = one(proxy.close(token))
    assert (record["host"], record["address"], record["allowed"]) == (
        "localhost",
        "127.0.0.1",
        True,
    )


def test_plain_http_is_forwarded_re_serialized_and_recorded(
    proxy: ProxyProcess, upstream: Upstream
) -> None:
    proxy.configure(test_public=public(upstream))
    token, path = proxy.open([f"127.0.0.1:{upstream.port}"])
    body = b'{"lead": "hot"}'
    request = (
        f"POST http://127.0.0.1:{upstream.port}/hook?x=1 HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{upstream.port}\r\n"
        "Proxy-Authorization: Basic c2VjcmV0\r\n"
        "Proxy-Connection: keep-alive\r\n"
        "Connection: keep-alive, X-Hop\r\n"
        "X-Hop: dropped\r\n"
        "Keep-Alive: timeout=5\r\n"
        "X-Custom: kept\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    response = exchange(path, request)

    assert response.startswith(b"HTTP/1.1 200 ")
    assert b"connection: close" in response.lower()
    assert response.endswith(b"echo 15")
    [(method, target, headers, received)] = upstream.requests
    assert (method, target, received) == ("POST", "/hook?x=1", body)
    assert headers["host"] == f"127.0.0.1:{upstream.port}"
    assert headers["connection"] == "close"
    assert headers["x-custom"] == "kept"
    for hop in ("proxy-authorization", "proxy-connection", "x-hop", "keep-alive"):
        assert hop not in headers
    record = one(proxy.close(token))
    assert (record["method"], record["allowed"], record["reason"]) == ("POST", True, "")
    assert record["bytes_out"] > len(body)
    assert record["bytes_in"] > len(b"echo 15")


def test_a_chunked_request_body_is_re_framed_by_the_proxy(
    proxy: ProxyProcess, upstream: Upstream
) -> None:
    proxy.configure(test_public=public(upstream))
    token, path = proxy.open([f"127.0.0.1:{upstream.port}"])
    request = (
        f"PUT http://127.0.0.1:{upstream.port}/up HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{upstream.port}\r\n"
        "Content-Length: 5\r\n\r\nhello"
    ).encode()
    assert exchange(path, request).endswith(b"echo 5")
    assert upstream.requests[0][3] == b"hello"
    assert one(proxy.close(token))["reason"] == ""


# Refused by the rules -------------------------------------------------------------------------


def test_an_unlisted_host_is_refused_and_the_server_sees_nothing(
    proxy: ProxyProcess, upstream: Upstream
) -> None:
    proxy.configure(test_public=public(upstream))
    token, path = proxy.open(["api.example.com"])
    sock, head = open_tunnel(path, f"127.0.0.1:{upstream.port}")
    sock.close()
    response = exchange(path, f"GET http://127.0.0.1:{upstream.port}/ HTTP/1.0\r\n\r\n".encode())

    assert status(head) == 403
    assert status(response) == 403 and b"not in this step's egress list" in response
    assert upstream.accepted == []
    records = proxy.close(token)
    assert len(records) == 2
    for record in records:
        assert record["allowed"] is False
        assert record["address"] is None
        assert "not in this step's egress list" in record["reason"]


def test_an_allowed_host_on_an_unlisted_port_is_refused(
    proxy: ProxyProcess, upstream: Upstream, other_upstream: Upstream
) -> None:
    proxy.configure(test_public=[*public(upstream), *public(other_upstream)])
    token, path = proxy.open([f"127.0.0.1:{upstream.port}"])
    sock, head = open_tunnel(path, f"127.0.0.1:{other_upstream.port}")
    sock.close()

    assert status(head) == 403
    assert other_upstream.accepted == []
    record = one(proxy.close(token))
    assert record["port"] == other_upstream.port
    assert "not in this step's egress list" in record["reason"]


def test_port_80_is_allowed_only_when_listed(proxy: ProxyProcess) -> None:
    proxy.configure(test_public=["127.0.0.1:80"])
    token, path = proxy.open(["127.0.0.1"])  # port 443 only
    exchange(path, b"GET http://127.0.0.1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    refused = one(proxy.close(token))
    token, path = proxy.open(["127.0.0.1:80"])
    exchange(path, b"GET http://127.0.0.1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    listed = one(proxy.close(token))

    assert (refused["port"], refused["allowed"]) == (80, False)
    assert "not in this step's egress list" in refused["reason"]
    # Nothing needs to listen on port 80: the rules let the proxy try it.
    assert (listed["port"], listed["allowed"], listed["address"]) == (80, True, "127.0.0.1")


def test_connect_to_port_80_is_refused_so_plain_http_has_its_host_checked(
    proxy: ProxyProcess,
) -> None:
    """Inside a tunnel the proxy sees only bytes, so a step could send any Host header to the
    listed server; plain HTTP must come as absolute-form requests, whose Host is checked."""
    proxy.configure(test_public=["127.0.0.1:80"])
    token, path = proxy.open(["127.0.0.1:80"])
    sock, head = open_tunnel(path, "127.0.0.1:80")
    sock.close()
    record = one(proxy.close(token))

    assert status(head) == 403
    assert (record["host"], record["port"], record["allowed"]) == ("127.0.0.1", 80, False)
    assert record["address"] is None  # refused before any connection was made
    assert "CONNECT to port 80 is refused" in record["reason"]


def test_an_ip_literal_is_refused_unless_listed_literally(
    proxy: ProxyProcess, upstream: Upstream
) -> None:
    proxy.configure(test_public=public(upstream))
    token, path = proxy.open([f"localhost:{upstream.port}", f"*:{upstream.port}"])
    sock, head = open_tunnel(path, f"127.0.0.1:{upstream.port}")
    sock.close()

    assert status(head) == 403
    assert upstream.accepted == []
    assert "not in this step's egress list" in one(proxy.close(token))["reason"]


@pytest.mark.parametrize("spelling", ["2130706433", "0x7f.1", "127.1", "0177.0.0.1", "0x7f000001"])
def test_non_canonical_ipv4_spellings_never_reach_loopback(
    proxy: ProxyProcess, upstream: Upstream, spelling: str
) -> None:
    proxy.configure()
    token, path = proxy.open([f"localhost:{upstream.port}", f"127.0.0.1:{upstream.port}"])
    sock, head = open_tunnel(path, f"{spelling}:{upstream.port}")
    sock.close()
    response = exchange(path, f"GET http://{spelling}:{upstream.port}/ HTTP/1.0\r\n\r\n".encode())

    assert status(head) == 403 and status(response) == 403
    assert upstream.accepted == []
    for record in proxy.close(token):
        assert (record["host"], record["address"], record["allowed"]) == (
            "127.0.0.1",
            "127.0.0.1",
            False,
        )
        assert "not a public address (loopback)" in record["reason"]


@pytest.mark.parametrize(
    ("authority", "rule", "reason"),
    [
        ("[::1]:{port}", "[::1]:{port}", "::1 is not a public address (loopback)"),
        ("[0:0:0:0:0:0:0:1]:{port}", "[::1]:{port}", "(loopback)"),
        ("[::ffff:127.0.0.1]:{port}", "[::ffff:127.0.0.1]:{port}", "(IPv4-mapped)"),
        ("[::ffff:7f00:1]:{port}", "[::ffff:127.0.0.1]:{port}", "(IPv4-mapped)"),
        ("[::127.0.0.1]:{port}", "[::127.0.0.1]:{port}", "(IPv4-compatible"),
        ("[64:ff9b::7f00:1]:{port}", "[64:ff9b::7f00:1]:{port}", "NAT64 of 127.0.0.1"),
        ("[2002:7f00:1::1]:{port}", "[2002:7f00:1::1]:{port}", "6to4 of 127.0.0.1"),
        ("[fe80::1]:{port}", "[fe80::1]:{port}", "(link-local)"),
        ("[::ffff:127.0.0.1]:{port}", "127.0.0.1:{port}", "not in this step's egress list"),
        ("::1:{port}", "[::1]:{port}", "must be written in brackets"),
    ],
)
def test_ipv6_forms_are_refused(
    proxy: ProxyProcess, upstream: Upstream, authority: str, rule: str, reason: str
) -> None:
    # 127.0.0.1 itself counts as public here: the IPv6 forms of it must still be refused.
    proxy.configure(test_public=public(upstream))
    token, path = proxy.open([rule.format(port=upstream.port)])
    sock, head = open_tunnel(path, authority.format(port=upstream.port))
    sock.close()

    assert status(head) in (400, 403)
    assert upstream.accepted == []
    record = one(proxy.close(token))
    assert record["allowed"] is False
    assert reason in record["reason"]


@pytest.mark.parametrize(
    ("rule", "target", "reason"),
    [
        ("127.0.0.1:{port}", "127.0.0.1:{port}", "(loopback)"),
        ("localhost:{port}", "localhost:{port}", "localhost resolves to 127.0.0.1"),
        ("10.0.0.1:{port}", "10.0.0.1:{port}", "(private (RFC 1918))"),
        ("192.168.0.1", "192.168.0.1:443", "(private (RFC 1918))"),
        ("100.64.0.1", "100.64.0.1:443", "(carrier-grade NAT"),
        ("169.254.169.254:{port}", "169.254.169.254:{port}", "(link-local"),
        ("0.0.0.0:{port}", "0.0.0.0:{port}", "(unspecified"),
        ("224.0.0.1", "224.0.0.1:443", "(multicast)"),
    ],
)
@pytest.mark.parametrize("method", ["CONNECT", "GET"])
def test_loopback_private_and_metadata_addresses_are_refused_even_when_listed(
    proxy: ProxyProcess, upstream: Upstream, rule: str, target: str, reason: str, method: str
) -> None:
    proxy.configure()  # no exemption: 127.0.0.1 is loopback, as in production
    token, path = proxy.open([rule.format(port=upstream.port)])
    authority = target.format(port=upstream.port)
    url = authority if method == "CONNECT" else f"http://{authority}/latest/meta-data/"
    request = f"{method} {url} HTTP/1.1\r\nHost: {authority}\r\n\r\n"
    response = exchange(path, request.encode())

    assert status(response) == 403
    assert upstream.accepted == []
    record = one(proxy.close(token))
    assert record["allowed"] is False
    assert record["address"] is not None
    assert reason in record["reason"]


# Malformed and smuggling requests ------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_bytes", "code", "reason"),
    [
        (
            b"POST http://127.0.0.1:{port}/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
            "both Content-Length and Transfer-Encoding",
        ),
        (
            b"GET http://127.0.0.1:{port}/ HTTP/1.1\r\nHost: internal.example.com\r\n\r\n",
            400,
            "the Host header names internal.example.com:80",
        ),
        (
            b"GET http://127.0.0.1:{port}/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            b"Host: 127.0.0.1:{port}\r\n\r\n",
            400,
            "multiple Host",
        ),
        (b"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n", 400, "not origin-form"),
        (b"GET https://127.0.0.1:{port}/ HTTP/1.1\r\nHost: x\r\n\r\n", 400, "use CONNECT"),
        (b"GET http://u@127.0.0.1:{port}/ HTTP/1.1\r\nHost: x\r\n\r\n", 400, "user info"),
        (b"CONNECT 127.0.0.1 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "has no port"),
        (b"CONNECT 127.0.0.1:99999 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "not 1-65535"),
        (b"NOT HTTP AT ALL\r\n\r\n", 400, "malformed request"),
        (b"GET http://127.0.0.1:{port}/ HTTP/1.1\r\n\r\n", 400, "malformed request"),
    ],
)
def test_malformed_and_smuggling_requests_are_refused_before_any_connection(
    proxy: ProxyProcess, upstream: Upstream, request_bytes: bytes, code: int, reason: str
) -> None:
    proxy.configure(test_public=public(upstream))
    token, path = proxy.open([f"127.0.0.1:{upstream.port}", f"127.0.0.1:{upstream.port}"])
    response = exchange(path, request_bytes.replace(b"{port}", str(upstream.port).encode()))

    assert status(response) == code
    assert reason.encode() in response
    assert upstream.accepted == []
    record = one(proxy.close(token))
    assert record["allowed"] is False
    assert reason in record["reason"]


def test_a_step_waiting_for_100_continue_is_told_to_send_its_body(
    proxy: ProxyProcess, upstream: Upstream
) -> None:
    proxy.configure(test_public=public(upstream))
    token, path = proxy.open([f"127.0.0.1:{upstream.port}"])
    with unix_connect(path) as sock:
        sock.sendall(
            f"POST http://127.0.0.1:{upstream.port}/up HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{upstream.port}\r\nExpect: 100-continue\r\n"
            "Content-Length: 5\r\n\r\n".encode()
        )
        interim = sock.recv(100)
        sock.sendall(b"hello")
        final = read_all(sock)

    assert interim.startswith(b"HTTP/1.1 100 ")
    assert final.startswith(b"HTTP/1.1 200 ") and final.endswith(b"echo 5")
    [(_method, _path, headers, body)] = upstream.requests
    assert "expect" not in headers and body == b"hello"
    assert one(proxy.close(token))["reason"] == ""


def test_a_name_that_does_not_resolve_is_refused_and_recorded(proxy: ProxyProcess) -> None:
    proxy.configure(connect_timeout_s=2.0)
    token, path = proxy.open(["no-such-host.invalid"])
    sock, head = open_tunnel(path, "no-such-host.invalid:443")
    sock.close()

    # Without a reachable DNS server the lookup times out instead of failing: both are refusals.
    assert status(head) in (502, 504)
    record = one(proxy.close(token))
    assert (record["host"], record["address"], record["allowed"]) == (
        "no-such-host.invalid",
        None,
        False,
    )
    assert "cannot resolve" in record["reason"] or "name resolution timed out" in record["reason"]
