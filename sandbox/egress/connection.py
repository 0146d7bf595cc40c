"""One connection on a lease socket: read the request head, decide, tunnel or forward, record.

The order of checks is the policy: a well-formed head (h11; no Content-Length together with
Transfer-Encoding), a proxy request (CONNECT or absolute-form ``http://``) whose Host header
agrees with its URL, the lease's connection cap, the execution's egress rules on the normalized
host and port, then the address checks on the resolved addresses (``upstream.open_upstream``).
Every attempt, refused or not, ends as one record in the lease. Standard library, h11 and
``step_sdk.egress`` only: this runs inside the proxy container.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import sys
import traceback
from typing import TYPE_CHECKING

import h11

from sandbox.egress.http_forward import forward_request
from sandbox.egress.records import ConnectionRecord, printable
from sandbox.egress.refusal import Refusal, response_bytes
from sandbox.egress.target import HTTP_PORT, check_host_header, request_target
from sandbox.egress.tunnel import run_tunnel
from sandbox.egress.upstream import open_upstream
from step_sdk.egress import allows

if TYPE_CHECKING:
    from sandbox.egress.lease import Lease

# A step gets this long to send its request head; longer only holds a connection slot.
HEAD_TIMEOUT_S = 30.0
# h11's own default; a longer head is refused as malformed.
MAX_HEAD_BYTES = 16 * 1024
REPLY_TIMEOUT_S = 5.0


async def serve_connection(lease: Lease, step: socket.socket) -> None:
    """Serve one step connection (a non-blocking socket) to its end, close it and add its record
    to ``lease``; never raises except ``CancelledError`` (the lease closing), after recording."""
    loop = asyncio.get_running_loop()
    record = ConnectionRecord()
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
    remote: socket.socket | None = None
    graceful = True
    try:
        if lease.closed:
            raise Refusal(503, lease.close_reason)
        if lease.live_connections() > lease.settings.max_connections:
            raise Refusal(429, _cap_text(lease, "open at once"))
        request = await _read_head(conn, step)
        record.method = printable(request.method.decode("ascii", "replace"))
        record.host = printable(_fallback_host(request))
        _refuse_framing_conflict(request)
        target = request_target(request)
        record.host, record.port = target.host, target.port
        if request.method == b"CONNECT" and target.port == HTTP_PORT:
            # Inside a tunnel the proxy sees only bytes: plain HTTP must come as absolute-form
            # requests (what HTTP_PROXY clients send) so that their Host header is checked.
            raise Refusal(
                403, "CONNECT to port 80 is refused: send plain HTTP as absolute-form requests"
            )
        if request.method != b"CONNECT":
            check_host_header(request, target)
        if not lease.admit():
            raise Refusal(429, _cap_text(lease, "per execution"))
        if not allows(lease.rules, target.host, target.port):
            raise Refusal(
                403, f"{target.host} port {target.port} is not in this step's egress list"
            )
        if lease.bytes_left() <= 0:
            raise Refusal(429, f"byte cap reached ({lease.settings.max_bytes} bytes per execution)")
        remote = await open_upstream(target.host, target.port, lease.settings, record)
        if request.method == b"CONNECT":
            await _read_end_of_head(conn, step)
            response = conn.send(h11.Response(status_code=200, headers=[], reason=b"OK"))
            await loop.sock_sendall(step, response or b"")
            early_data, _closed = conn.trailing_data
            record.reason = await run_tunnel(lease, record, step, remote, early_data)
        else:
            record.reason = await forward_request(
                lease, record, step, conn, request, target, remote
            )
        graceful = not record.reason
    except Refusal as refusal:
        record.reason = printable(refusal.reason)
        await _send_refusal(step, response_bytes(refusal.status, record.reason))
    except asyncio.CancelledError:
        record.reason = record.reason or lease.close_reason or "cancelled"
        graceful = False
        raise
    except OSError as exc:
        record.reason = printable(f"connection error: {exc}")
        graceful = False
    except Exception as exc:  # a bug must not take the lease or the proxy down
        record.reason = printable(f"internal proxy error: {type(exc).__name__}")
        graceful = False
        traceback.print_exc(file=sys.stderr)
    finally:
        for sock in (step, remote):
            if sock is not None:
                _close(sock, graceful=graceful)
        record.finish()
        lease.records.add(record)


async def _send_refusal(step: socket.socket, response: bytes) -> None:
    # A step that does not read must not hold the connection: the reply is small enough for the
    # socket buffer, so this only waits on a step that fills its own receive buffer first.
    with contextlib.suppress(OSError, TimeoutError):
        async with asyncio.timeout(REPLY_TIMEOUT_S):
            await asyncio.get_running_loop().sock_sendall(step, response)


def _close(sock: socket.socket, *, graceful: bool) -> None:
    """Close ``sock``; a cut TCP connection is reset (SO_LINGER 0) so the remote host sees it
    end abnormally rather than as a complete response."""
    with contextlib.suppress(OSError):
        if not graceful and sock.family != socket.AF_UNIX:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif graceful:
            sock.shutdown(socket.SHUT_WR)
    sock.close()


def _fallback_host(request: h11.Request) -> str:
    """What to record as the host until the target is parsed: the raw target, or for an
    origin-form request (``GET /path``) its Host header."""
    if request.target.startswith(b"/"):
        for name, value in request.headers:
            if name == b"host":
                return value.decode("ascii", "replace")
    return request.target.decode("ascii", "replace")


def _cap_text(lease: Lease, what: str) -> str:
    return f"connection cap reached ({lease.settings.max_connections} connections {what})"


async def _read_head(conn: h11.Connection, step: socket.socket) -> h11.Request:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(HEAD_TIMEOUT_S):
            while True:
                event = conn.next_event()
                if isinstance(event, h11.Request):
                    return event
                if event is h11.NEED_DATA:
                    conn.receive_data(await loop.sock_recv(step, MAX_HEAD_BYTES))
                    continue
                if isinstance(event, h11.ConnectionClosed):
                    raise Refusal(400, "the connection closed before a request was sent")
                raise Refusal(400, f"malformed request: unexpected {type(event).__name__}")
    except h11.RemoteProtocolError as exc:
        raise Refusal(exc.error_status_hint, f"malformed request: {exc}") from None
    except TimeoutError:
        raise Refusal(408, f"no request head within {HEAD_TIMEOUT_S:g} s") from None


async def _read_end_of_head(conn: h11.Connection, step: socket.socket) -> None:
    """Consume the (empty) end of a CONNECT request so h11 lets the tunnel start."""
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as exc:
            raise Refusal(400, f"malformed request: {exc}") from None
        if isinstance(event, h11.EndOfMessage):
            return
        if event is not h11.NEED_DATA:
            raise Refusal(400, f"malformed CONNECT request: unexpected {type(event).__name__}")
        conn.receive_data(await asyncio.get_running_loop().sock_recv(step, MAX_HEAD_BYTES))


def _refuse_framing_conflict(request: h11.Request) -> None:
    names = {name for name, _value in request.headers}
    if b"content-length" in names and b"transfer-encoding" in names:
        raise Refusal(
            400, "both Content-Length and Transfer-Encoding (a request smuggling pattern)"
        )
    if request.method == b"CONNECT" and names & {b"content-length", b"transfer-encoding"}:
        raise Refusal(400, "a CONNECT request has no body")
